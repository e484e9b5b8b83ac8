/**
 * File storage for whichever runtime is running: Deno's adapter on Deno, the `node:fs`
 * one elsewhere (Bun). Pass `runtime` to choose explicitly.
 */
import { fileStorage as bunFileStorage } from "../bun/index.ts";
import { fileStorage as denoFileStorage } from "../deno/index.ts";
import type { WalOptions, WalStorage } from "../../wal/wal-storage.ts";

export type { WalOptions } from "../../wal/wal-storage.ts";
export { WalStorage } from "../../wal/wal-storage.ts";

export type FileRuntime = "deno" | "bun";

/** The runtime this code runs on, as far as file storage is concerned. */
export function detectRuntime(): FileRuntime {
  return "Deno" in globalThis ? "deno" : "bun";
}

export function fileStorage(directory: string, options: WalOptions & { runtime?: FileRuntime } = {}): WalStorage {
  const { runtime = detectRuntime(), ...walOptions } = options;
  return runtime === "deno" ? denoFileStorage(directory, walOptions) : bunFileStorage(directory, walOptions);
}
