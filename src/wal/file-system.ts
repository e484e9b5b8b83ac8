/**
 * The file operations the WAL needs, all synchronous (they run on the writer Worker's own
 * thread, or once at open) but for taking the directory's lock. Each runtime adapter
 * implements this small surface with its native API; tests wrap it to inject faults.
 */
import { StorageError } from "../core/errors.ts";

/** An exclusive OS lock on a file, held until released or until its holder dies. */
export interface FileLock {
  /** Releases the lock (and whatever holds it). */
  release(): Promise<void>;
}

/** An open file. */
export interface FileHandle {
  /** Writes all of `bytes[offset, offset + length)` at file offset `position` (past the end, the file grows). */
  writeAt(bytes: Uint8Array, offset: number, length: number, position: number): void;
  /**
   * Sets the file's size (ftruncate): cuts it, or extends it with zeros, which take no
   * room on disk until written (a hole), so a write into them can still meet a full disk.
   */
  resize(length: number): void;
  /** fdatasync: the file's data (and size) reach stable storage. */
  syncData(): void;
  /** Reads into `buffer` from file offset `position`; returns the bytes read. */
  readAt(buffer: Uint8Array, position: number): number;
  /** The file's size in bytes. */
  size(): number;
  /** Closes the handle. */
  close(): void;
}

/** The synchronous file operations the WAL runs on (one implementation per runtime). */
export interface FileSystem {
  /** Opens an existing file for reading and writing (at the offsets `writeAt` is given: never in append mode). */
  openWrite(path: string): FileHandle;
  /** Opens for reading. */
  openRead(path: string): FileHandle;
  /** Creates a new file and fails (code EEXIST) if it exists. */
  createExclusive(path: string): FileHandle;
  /** The whole file. */
  readFile(path: string): Uint8Array;
  /** Renames (atomically replacing `to`). */
  rename(from: string, to: string): void;
  /** Deletes a file. */
  remove(path: string): void;
  /** Cuts a file to `length` bytes. */
  truncate(path: string, length: number): void;
  /** fsync on the directory, so created, renamed and removed names survive a crash. */
  syncDirectory(path: string): void;
  /** File names (not paths) in a directory. */
  list(path: string): string[];
  /** Whether `path` exists. */
  exists(path: string): boolean;
  /** Creates a directory and its parents. */
  makeDirectory(path: string): void;
  /** This process's id (recorded in the lock file, for messages). */
  readonly pid: number;
  /**
   * Takes an exclusive advisory lock (flock semantics: per open file, released by the
   * kernel when the holder dies) on `path`, creating the file if needed. Resolves to the
   * lock, or to undefined at once if anyone else holds it, this process included.
   */
  tryLock(path: string): Promise<FileLock | undefined>;
}

/** A file system forwarding everything to `fs` but `overrides` (for wrappers that inject faults or crashes). */
export function forwardingFileSystem(fs: FileSystem, overrides: Partial<FileSystem>): FileSystem {
  return { ...fs, pid: fs.pid, tryLock: (path) => fs.tryLock(path), ...overrides };
}

/** A handle forwarding everything to `handle` but `overrides`. */
export function forwardingHandle(handle: FileHandle, overrides: Partial<FileHandle>): FileHandle {
  return {
    writeAt: (bytes, offset, length, position) => handle.writeAt(bytes, offset, length, position),
    resize: (length) => handle.resize(length),
    syncData: () => handle.syncData(),
    readAt: (buffer, position) => handle.readAt(buffer, position),
    size: () => handle.size(),
    close: () => handle.close(),
    ...overrides,
  };
}

/**
 * The same file system, but every error an operation throws becomes a StorageError naming
 * the file it was about (the runtime's own errors often do not: a failed write or fsync
 * on a descriptor names none, Deno's errors name nothing). The first cause is kept.
 */
export function namingFiles(fs: FileSystem): FileSystem {
  const named = <T>(file: string, operation: string, run: () => T): T => {
    try {
      return run();
    } catch (error) {
      // An injected crash (faults.ts) stands for the thread dying, not an I/O error: as is.
      if (error instanceof StorageError || (error as { crash?: boolean })?.crash) throw error;
      throw new StorageError(`${operation} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error, file });
    }
  };
  const handle = (path: string, inner: FileHandle): FileHandle => ({
    writeAt: (bytes, offset, length, position) => named(path, "write", () => inner.writeAt(bytes, offset, length, position)),
    resize: (length) => named(path, "ftruncate", () => inner.resize(length)),
    syncData: () => named(path, "fdatasync", () => inner.syncData()),
    readAt: (buffer, position) => named(path, "read", () => inner.readAt(buffer, position)),
    size: () => named(path, "stat", () => inner.size()),
    close: () => named(path, "close", () => inner.close()),
  });
  return forwardingFileSystem(fs, {
    openWrite: (path) => handle(path, named(path, "open", () => fs.openWrite(path))),
    openRead: (path) => handle(path, named(path, "open", () => fs.openRead(path))),
    createExclusive: (path) => handle(path, named(path, "create", () => fs.createExclusive(path))),
    readFile: (path) => named(path, "read", () => fs.readFile(path)),
    rename: (from, to) => named(from, `rename to ${to}`, () => fs.rename(from, to)),
    remove: (path) => named(path, "remove", () => fs.remove(path)),
    truncate: (path, length) => named(path, "truncate", () => fs.truncate(path, length)),
    syncDirectory: (path) => named(path, "directory fsync", () => fs.syncDirectory(path)),
    list: (path) => named(path, "list", () => fs.list(path)),
    exists: (path) => named(path, "stat", () => fs.exists(path)),
    makeDirectory: (path) => named(path, "mkdir", () => fs.makeDirectory(path)),
    tryLock: async (path) => {
      try {
        return await fs.tryLock(path);
      } catch (error) {
        throw new StorageError(`lock failed: ${(error as Error)?.message ?? String(error)}`, { cause: error, file: path });
      }
    },
  });
}

/** Joins path parts with "/" (both runtimes accept it on every platform they run on here). */
export function joinPath(...parts: string[]): string {
  return parts.join("/").replace(/\/+/g, "/");
}

/** The directory holding `path` ("." for a bare name, "/" at the root). */
export function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  return slash < 0 ? "." : trimmed.slice(0, slash) || "/";
}

/**
 * Creates `path` and any missing parents, then fsyncs the parent of each directory it
 * created, top down: a new directory's name is itself a directory entry, and without
 * that sync a power cut can take the directory away with every file synced inside it.
 */
export function makeDirectoryDurably(fs: FileSystem, path: string): void {
  const created: string[] = [];
  for (let directory = path; !fs.exists(directory); directory = parentOf(directory)) {
    created.unshift(directory);
    if (parentOf(directory) === directory) break;
  }
  if (created.length === 0) return;
  fs.makeDirectory(path);
  for (const directory of created) fs.syncDirectory(parentOf(directory));
}

/**
 * Writes `parts` one after the other as a new file at `path` (replacing a leftover one),
 * sized to `size` if that is more (zeros follow), and fdatasyncs it.
 */
export function writeFileSynced(fs: FileSystem, path: string, parts: readonly Uint8Array[], size = 0): void {
  if (fs.exists(path)) fs.remove(path);
  const handle = fs.createExclusive(path);
  try {
    let at = 0;
    for (const part of parts) {
      handle.writeAt(part, 0, part.length, at);
      at += part.length;
    }
    if (size > at) handle.resize(size);
    handle.syncData();
  } finally {
    handle.close();
  }
}

/**
 * Writes `bytes` to `path` (sized to `size` if that is more) so that a crash leaves either
 * the old file or the whole new one.
 */
export function writeFileAtomically(fs: FileSystem, directory: string, name: string, bytes: Uint8Array, size = 0): void {
  const temporary = joinPath(directory, `${name}.tmp`);
  writeFileSynced(fs, temporary, [bytes], size);
  fs.rename(temporary, joinPath(directory, name));
  fs.syncDirectory(directory);
}
