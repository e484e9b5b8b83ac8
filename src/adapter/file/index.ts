/**
 * File storage for whichever runtime is running: Deno's adapter on Deno, the `node:fs`
 * one elsewhere (Bun). Pass `runtime` to choose explicitly.
 */
import { fileStorage as bunFileStorage } from "../bun/index.ts";
import { nodeFileSystem } from "../bun/file-system.ts";
import { fileStorage as denoFileStorage } from "../deno/index.ts";
import { denoFileSystem } from "../deno/file-system.ts";
import type { FileSystem } from "../../wal/file-system.ts";
import type { WalOptions, WalStorage } from "../../wal/wal-storage.ts";

export type { WalOptions } from "../../wal/wal-storage.ts";
export type { DataCodec } from "../../wal/codec.ts";
export type { Fault, FaultOperation } from "../../wal/faults.ts";
export type { PowerLoss } from "../../wal/power-loss.ts";
export type { Recovered, SegmentIndex } from "../../wal/recovery.ts";
export type { FileHandle, FileSystem } from "../../wal/file-system.ts";
export { WalStorage } from "../../wal/wal-storage.ts";

/** The runtime whose file API the WAL uses. */
export type FileRuntime = "deno" | "bun";

/** The runtime this code runs on, as far as file storage is concerned. */
export function detectRuntime(): FileRuntime {
  return "Deno" in globalThis ? "deno" : "bun";
}

/** WAL storage in `directory` on this runtime's file API (Deno's, or `node:fs` on Bun); `runtime` chooses explicitly. */
export function fileStorage(directory: string, options: WalOptions & { runtime?: FileRuntime } = {}): WalStorage {
  const { runtime = detectRuntime(), ...walOptions } = options;
  return runtime === "deno" ? denoFileStorage(directory, walOptions) : bunFileStorage(directory, walOptions);
}

/** The file layer of the running runtime (for read-only tools such as the CLI's LogReader). */
export function runtimeFileSystem(runtime: FileRuntime = detectRuntime()): FileSystem {
  return runtime === "deno" ? denoFileSystem : nodeFileSystem;
}
