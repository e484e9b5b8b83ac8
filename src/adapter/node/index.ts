/**
 * File storage for Node (≥ 20): the asynchronous WAL with group commit, its files written
 * through `node:fs` by a `node:worker_threads` writer (Node has no global Web Worker).
 */
import { nodeReadAheadThread } from "./read-ahead-thread.ts";
import { type WalOptions, type WalRuntime, WalStorage } from "../../wal/wal-storage.ts";
import { siblingModule } from "../../wal/writer-thread.ts";
import { nodeFileSystem } from "./file-system.ts";
import { nodeWorkerThread } from "./writer-thread.ts";

export type { WalOptions } from "../../wal/wal-storage.ts";
export { WalStorage } from "../../wal/wal-storage.ts";

/** The WAL's file layer and writer thread on Node. */
export const nodeWalRuntime: WalRuntime = {
  fs: nodeFileSystem,
  fileSystemModule: siblingModule(import.meta.url, "file-system"),
  spawnWriter: nodeWorkerThread,
  spawnReadAhead: nodeReadAheadThread,
};

/** WAL storage in `directory`, written with `node:fs` from a worker thread. */
export function fileStorage(directory: string, options?: WalOptions): WalStorage {
  return new WalStorage(nodeWalRuntime, directory, options);
}
