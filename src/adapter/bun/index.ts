/**
 * File storage for Bun (and any runtime with `node:fs`): the asynchronous WAL with group
 * commit, its files written through `node:fs` (`fdatasyncSync`).
 */
import { WalStorage, type WalOptions } from "../../wal/wal-storage.ts";
import { nodeFileSystem } from "./file-system.ts";

export type { WalOptions } from "../../wal/wal-storage.ts";
export { WalStorage } from "../../wal/wal-storage.ts";

/** WAL storage in `directory`, written with `node:fs`. */
export function fileStorage(directory: string, options?: WalOptions): WalStorage {
  return new WalStorage(nodeFileSystem, new URL("./file-system.ts", import.meta.url).href, directory, options);
}
