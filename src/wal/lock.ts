/**
 * One writer per WAL directory: a `LOCK` file created exclusively, holding the owner's
 * process id. A lock left by a process that no longer runs (killed) is taken over; a
 * lock held by a running process, this one included, is refused with a clear error.
 */
import { StorageError } from "../core/errors.ts";
import { type FileHandle, type FileSystem, joinPath } from "./file-system.ts";

const LOCK = "LOCK";

export function acquireLock(fs: FileSystem, directory: string): () => void {
  const path = joinPath(directory, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    let handle: FileHandle;
    try {
      handle = fs.createExclusive(path);
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") {
        throw new StorageError(`cannot create the WAL lock: ${(error as Error).message}`, { cause: error, file: path });
      }
      const owner = Number.parseInt(new TextDecoder().decode(fs.readFile(path)), 10);
      if (Number.isInteger(owner) && (owner === fs.pid || fs.processAlive(owner))) {
        throw new StorageError(
          `WAL directory ${directory} is already open for writing by process ${owner}${owner === fs.pid ? " (this one)" : ""}`,
          { file: path },
        );
      }
      fs.remove(path); // stale: its owner is gone
      continue;
    }
    try {
      const bytes = new TextEncoder().encode(`${fs.pid}\n`);
      handle.append(bytes, 0, bytes.length);
      handle.syncData();
      handle.close();
      fs.syncDirectory(directory);
      return () => fs.remove(path);
    } catch (error) {
      // The lock file exists but could not be made durable: take it back, so that a retry
      // in this process is not refused by a lock nobody holds.
      try {
        handle.close();
      } catch { /* already closed */ }
      fs.remove(path);
      throw new StorageError(`cannot create the WAL lock: ${(error as Error).message}`, { cause: error, file: path });
    }
  }
  throw new StorageError(`WAL directory ${directory}: lost the race for the lock`, { file: path });
}
