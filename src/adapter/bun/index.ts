/**
 * File storage for Bun: the asynchronous WAL with group commit, its files written through
 * `node:fs` (`fdatasyncSync`, which Bun implements natively) by a Web Worker writer.
 */
import { webReadAheadThread } from "../../wal/read-ahead.ts";
import { type WalOptions, type WalRuntime, WalStorage } from "../../wal/wal-storage.ts";
import { siblingModule, webWorkerThread } from "../../wal/writer-thread.ts";
import { bunFileSystem } from "./file-system.ts";

export type { WalOptions } from "../../wal/wal-storage.ts";
export { WalStorage } from "../../wal/wal-storage.ts";

/** The WAL's file layer and writer thread on Bun. */
export const bunWalRuntime: WalRuntime = {
  fs: bunFileSystem,
  fileSystemModule: siblingModule(import.meta.url, "../node/file-system"),
  spawnWriter: webWorkerThread,
  spawnReadAhead: webReadAheadThread,
};

/** WAL storage in `directory`, written with `node:fs` from a Web Worker. */
export function fileStorage(directory: string, options?: WalOptions): WalStorage {
  return new WalStorage(bunWalRuntime, directory, options);
}
