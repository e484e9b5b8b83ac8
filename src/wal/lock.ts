/**
 * One writer per WAL directory: an exclusive OS lock (flock semantics) on `<dir>/LOCK`.
 * The kernel releases it when its holder dies, however it dies (kill -9, a container's
 * PID 1, a zombie), so nothing is judged from process ids: they are written into the file
 * for messages only. Two openers racing can never both hold it, in one process or in two.
 *
 * The LOCK file is never removed: removing a locked file would let the next opener create
 * and lock a new file of the same name while the old holder still holds the old one.
 */
import { StorageError } from "../core/errors.ts";
import { type FileSystem, joinPath } from "./file-system.ts";
import { releaseAndThrow } from "../core/release.ts";

const LOCK = "LOCK";
/**
 * How long a held lock is retried before the open is refused. A holder that was just
 * killed lets go a moment later, not at once: its exit, or on Node the helper's (flock(1)
 * notices the closed pipe), takes a few milliseconds. A supervisor restarting a killed
 * writer at once must not be refused for that.
 */
const RETRY_MS = 250;
const RETRY_EVERY_MS = 10;

/** Locks `directory` for writing; resolves to the function that releases it. Throws StorageError if it is held. */
export async function acquireLock(fs: FileSystem, directory: string): Promise<() => Promise<void>> {
  const path = joinPath(directory, LOCK);
  let lock;
  const deadline = Date.now() + RETRY_MS;
  try {
    while ((lock = await fs.tryLock(path)) === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
    }
  } catch (error) {
    throw asLockError(error, "cannot lock the WAL directory", path);
  }
  if (lock === undefined) {
    throw new StorageError(`WAL directory ${directory} is already open for writing${describeHolder(fs, path)}`, { file: path });
  }
  try {
    // Who holds it, for the message another opener gets; the lock itself is the flock.
    const bytes = new TextEncoder().encode(`${fs.pid}\n`);
    fs.truncate(path, 0);
    const handle = fs.openWrite(path);
    try {
      handle.writeAt(bytes, 0, bytes.length, 0);
    } finally {
      handle.close();
    }
  } catch (error) {
    return await releaseAndThrow(asLockError(error, "cannot write the WAL lock file", path), () => lock.release());
  }
  return () => lock.release();
}

/** A StorageError about LOCK: the file layer's own (it names the file already), or one made here. */
function asLockError(error: unknown, what: string, path: string): StorageError {
  if (error instanceof StorageError) return error;
  return new StorageError(`${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error, file: path });
}

/** " by process N" (and " (this one)") as the holder recorded it, if it did. */
function describeHolder(fs: FileSystem, path: string): string {
  let owner = Number.NaN;
  try {
    owner = Number.parseInt(new TextDecoder().decode(fs.readFile(path)), 10);
  } catch { /* the holder may not have written it yet: the message just says less */ }
  if (!Number.isSafeInteger(owner)) return "";
  return ` by process ${owner}${owner === fs.pid ? " (this one)" : ""}`;
}
