/**
 * File storage for Deno: the asynchronous WAL with group commit, its files written with
 * Deno's own file API (`Deno.FsFile#syncDataSync`).
 */
import { WalStorage, type WalOptions } from "../../wal/wal-storage.ts";
import { denoFileSystem } from "./file-system.ts";

export type { WalOptions } from "../../wal/wal-storage.ts";
export { WalStorage } from "../../wal/wal-storage.ts";

/** WAL storage in `directory`, written with Deno's file API. */
export function fileStorage(directory: string, options?: WalOptions): WalStorage {
  return new WalStorage(denoFileSystem, new URL("./file-system.ts", import.meta.url).href, directory, options);
}
