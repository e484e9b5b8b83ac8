/**
 * The part of Deno's runtime API the Deno file layer uses, typed here rather than taken
 * from Deno's global types: the package is also built with tsc and type-checked by Node
 * and Bun users, where no `Deno` global type exists and none may leak into theirs.
 */

/** An open file (Deno.FsFile). */
export interface DenoFile {
  writeSync(bytes: Uint8Array): number;
  readSync(buffer: Uint8Array): number | null;
  seekSync(offset: number, whence: number): number;
  syncSync(): void;
  syncDataSync(): void;
  statSync(): { size: number };
  truncateSync(length: number): void;
  /** flock(LOCK_EX or LOCK_SH | LOCK_NB): false if held elsewhere. */
  tryLockSync(exclusive: boolean): boolean;
  unlockSync(): void;
  close(): void;
}

interface OpenOptions {
  read?: boolean;
  write?: boolean;
  create?: boolean;
  createNew?: boolean;
}

/** The Deno namespace, as far as the file layer needs it. */
export interface DenoApi {
  openSync(path: string, options: OpenOptions): DenoFile;
  readFileSync(path: string): Uint8Array;
  renameSync(from: string, to: string): void;
  removeSync(path: string): void;
  truncateSync(path: string, length: number): void;
  readDirSync(path: string): Iterable<{ name: string }>;
  statSync(path: string): unknown;
  mkdirSync(path: string, options: { recursive: boolean }): void;
  readonly pid: number;
  readonly SeekMode: { readonly Start: number };
  readonly errors: { readonly AlreadyExists: abstract new (...args: never[]) => Error; readonly NotFound: abstract new (...args: never[]) => Error };
}

/** Deno's API, when running on Deno. */
export function denoApi(): DenoApi {
  const api = (globalThis as { Deno?: DenoApi }).Deno;
  if (api === undefined) throw new Error("Deno's file API is only available on Deno");
  return api;
}
