/**
 * The WAL's file operations on Deno's own file API (`Deno.FsFile#syncDataSync` is
 * fdatasync, and F_FULLFSYNC on macOS).
 */
import type { FileHandle, FileSystem } from "../../wal/file-system.ts";
import { type DenoApi, denoApi, type DenoFile } from "./deno-api.ts";

/** Looked up on first use, so that importing this module off Deno does no harm. */
let api: DenoApi | undefined;
const deno = (): DenoApi => (api ??= denoApi());

class DenoFileHandle implements FileHandle {
  /** The file's offset after this handle's last read or write: a write that follows the last seeks no more. */
  #offset = -1;

  constructor(private readonly file: DenoFile) {}

  writeAt(bytes: Uint8Array, offset: number, length: number, position: number): void {
    if (offset < 0 || offset + length > bytes.length) {
      throw new RangeError(`write of ${length} bytes at ${offset} is outside a buffer of ${bytes.length}`);
    }
    this.#seek(position);
    let written = 0;
    while (written < length) {
      const n = this.file.writeSync(bytes.subarray(offset + written, offset + length));
      if (n <= 0) throw new Error(`write made no progress (${written} of ${length} bytes written)`);
      written += n;
      this.#offset += n;
    }
  }

  resize(length: number): void {
    this.file.truncateSync(length);
  }

  syncData(): void {
    this.file.syncDataSync();
  }

  readAt(buffer: Uint8Array, position: number): number {
    this.#seek(position);
    let read = 0;
    while (read < buffer.length) {
      const n = this.file.readSync(buffer.subarray(read));
      if (n === null || n === 0) break;
      read += n;
      this.#offset += n;
    }
    return read;
  }

  #seek(position: number): void {
    if (this.#offset === position) return;
    this.#offset = -1; // unknown until the seek has succeeded
    this.file.seekSync(position, deno().SeekMode.Start);
    this.#offset = position;
  }

  size(): number {
    return this.file.statSync().size;
  }

  close(): void {
    this.file.close();
  }
}

/** Deno's errors carry no errno `code`; name the common ones the way node:fs does. */
function withCode<T>(operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    if (error instanceof deno().errors.AlreadyExists) Object.assign(error, { code: "EEXIST" });
    else if (error instanceof deno().errors.NotFound) Object.assign(error, { code: "ENOENT" });
    throw error;
  }
}

export const denoFileSystem: FileSystem = {
  openWrite: (path) => new DenoFileHandle(withCode(() => deno().openSync(path, { read: true, write: true }))),
  openRead: (path) => new DenoFileHandle(withCode(() => deno().openSync(path, { read: true }))),
  createExclusive: (path) =>
    new DenoFileHandle(withCode(() => deno().openSync(path, { write: true, createNew: true, read: true }))),
  readFile: (path) => withCode(() => deno().readFileSync(path)),
  rename: (from, to) => withCode(() => deno().renameSync(from, to)),
  remove(path) {
    try {
      deno().removeSync(path);
    } catch (error) {
      if (!(error instanceof deno().errors.NotFound)) throw error;
    }
  },
  truncate: (path, length) => withCode(() => deno().truncateSync(path, length)),
  syncDirectory(path) {
    const directory = deno().openSync(path, { read: true });
    try {
      directory.syncSync();
    } finally {
      directory.close();
    }
  },
  list: (path) => [...deno().readDirSync(path)].map((entry) => entry.name),
  exists(path) {
    try {
      deno().statSync(path);
      return true;
    } catch (error) {
      if (error instanceof deno().errors.NotFound) return false;
      throw error;
    }
  },
  makeDirectory: (path) => deno().mkdirSync(path, { recursive: true }),
  get pid() {
    return deno().pid;
  },
  tryLock(path) {
    const file = withCode(() => deno().openSync(path, { read: true, write: true, create: true }));
    if (!file.tryLockSync(true)) {
      file.close();
      return Promise.resolve(undefined);
    }
    return Promise.resolve({
      release() {
        file.unlockSync();
        file.close();
        return Promise.resolve();
      },
    });
  },
};

export default denoFileSystem;
