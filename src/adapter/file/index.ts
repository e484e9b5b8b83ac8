/**
 * File storage for whichever runtime is running: Deno's adapter on Deno, Bun's on Bun,
 * Node's (worker_threads) on Node. Pass `runtime` to choose explicitly.
 */
import { bunWalRuntime } from "../bun/index.ts";
import { nodeWalRuntime } from "../node/index.ts";
import { denoWalRuntime } from "../deno/index.ts";
import { ValidationError } from "../../core/errors.ts";
import type { FileSystem } from "../../wal/file-system.ts";
import { type WalOptions, type WalRuntime, WalStorage } from "../../wal/wal-storage.ts";
import { scavenge, type ScavengeResult } from "../../wal/scavenge.ts";

export type { WalOptions } from "../../wal/wal-storage.ts";
export type { DataCodec } from "../../wal/codec.ts";
export type { Fault, FaultOperation } from "../../wal/faults.ts";
export type { PowerLoss } from "../../wal/power-loss.ts";
export type { Recovered, SegmentIndex } from "../../wal/recovery.ts";
export type { ScavengeResult } from "../../wal/scavenge.ts";
export type { FileHandle, FileLock, FileSystem } from "../../wal/file-system.ts";
export { type ReplicationTerm, type WalRuntime, WalStorage } from "../../wal/wal-storage.ts";
export type { SpawnWriter, WriterThread } from "../../wal/writer-thread.ts";
export type { WriterMessage, WriterStart } from "../../wal/writer.ts";
export type { ReadAheadRange, ReadAheadStart, ReadAheadThread, SpawnReadAhead } from "../../wal/read-ahead.ts";

/** The runtime whose file API and threads the WAL uses. */
export type FileRuntime = "deno" | "bun" | "node";

const RUNTIMES: readonly FileRuntime[] = ["deno", "bun", "node"];

/** The runtime this code runs on. */
export function detectRuntime(): FileRuntime {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}

/** Options of `fileStorage`: the WAL's, plus which runtime's adapter to use. */
export type FileStorageOptions = WalOptions & {
  /** Which runtime's adapter to use (default: the running one). */
  runtime?: FileRuntime;
};

/** WAL storage in `directory` on this runtime's file API and threads; `runtime` chooses explicitly. */
export function fileStorage(directory: string, options: FileStorageOptions = {}): WalStorage {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ValidationError("WAL options", [{ path: "", message: `must be an object, got ${JSON.stringify(options)}` }]);
  }
  const { runtime = detectRuntime(), ...walOptions } = options;
  if (!RUNTIMES.includes(runtime)) {
    throw new ValidationError("WAL options", [{ path: "runtime", message: `must be one of ${RUNTIMES.map((r) => `"${r}"`).join(", ")}, got ${JSON.stringify(runtime)}` }]);
  }
  return new WalStorage(walRuntime(runtime), directory, walOptions);
}

/** The WAL's file layer and writer thread on `runtime` (default: the running one). */
export function walRuntime(runtime: FileRuntime = detectRuntime()): WalRuntime {
  return runtime === "deno" ? denoWalRuntime : runtime === "bun" ? bunWalRuntime : nodeWalRuntime;
}

/**
 * Erases from a closed WAL's segment files what `deleteStream` and `truncateStream`
 * removed (see src/wal/scavenge.ts): each removed event becomes a `$redacted` record at its
 * position. Takes the directory's lock; refuses a log with a torn tail or corruption.
 */
export function scavengeLog(directory: string, options: { runtime?: FileRuntime } = {}): Promise<ScavengeResult> {
  return scavenge(runtimeFileSystem(options.runtime), directory);
}

/** The file layer of the running runtime (for read-only tools such as the CLI's LogReader). */
export function runtimeFileSystem(runtime: FileRuntime = detectRuntime()): FileSystem {
  return walRuntime(runtime).fs;
}
