/**
 * File storage for Deno: the asynchronous WAL with group commit, its files written with
 * Deno's own file API (`Deno.FsFile#syncDataSync`) by a Web Worker writer.
 */
import { webReadAheadThread } from "../../wal/read-ahead.ts";
import { type WalOptions, type WalRuntime, WalStorage } from "../../wal/wal-storage.ts";
import { siblingModule, webWorkerThread } from "../../wal/writer-thread.ts";
import { denoFileSystem } from "./file-system.ts";

export type { WalOptions } from "../../wal/wal-storage.ts";
export { WalStorage } from "../../wal/wal-storage.ts";

/** The WAL's file layer and writer thread on Deno. */
export const denoWalRuntime: WalRuntime = {
  fs: denoFileSystem,
  fileSystemModule: siblingModule(import.meta.url, "file-system"),
  spawnWriter: webWorkerThread,
  spawnReadAhead: webReadAheadThread,
};

/** WAL storage in `directory`, written with Deno's file API. */
export function fileStorage(directory: string, options?: WalOptions): WalStorage {
  return new WalStorage(denoWalRuntime, directory, options);
}
