/**
 * Bun's file layer: `node:fs` (which Bun implements natively) for every operation but the
 * directory lock, which calls flock(2) from libc through bun:ffi (node:fs has no flock).
 */
import * as fs from "node:fs";
import process from "node:process";
import type { FileLock, FileSystem } from "../../wal/file-system.ts";
import { nodeFileSystem } from "../node/file-system.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = process.platform === "darwin" ? 35 : 11;

interface Libc {
  flock(fd: number, operation: number): number;
  errno(): number;
}

let libc: Promise<Libc> | undefined;

/** libc's flock and errno, loaded on first use (bun:ffi exists only on Bun). */
function loadLibc(): Promise<Libc> {
  libc ??= (async () => {
    const ffi = await import("bun:ffi" as string);
    const darwin = process.platform === "darwin";
    const errnoSymbol = darwin ? "__error" : "__errno_location";
    const { symbols } = ffi.dlopen(darwin ? "libc.dylib" : "libc.so.6", {
      flock: { args: [ffi.FFIType.i32, ffi.FFIType.i32], returns: ffi.FFIType.i32 },
      [errnoSymbol]: { args: [], returns: ffi.FFIType.ptr },
    });
    return {
      flock: (fd: number, operation: number) => symbols.flock(fd, operation) as number,
      errno: () => ffi.read.i32(symbols[errnoSymbol]() as number, 0) as number,
    };
  })();
  return libc;
}

async function tryLock(path: string): Promise<FileLock | undefined> {
  const { flock, errno } = await loadLibc();
  const fd = fs.openSync(path, "a+");
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const code = errno();
    fs.closeSync(fd);
    if (code === EWOULDBLOCK) return undefined;
    throw new Error(`flock(${path}) failed with errno ${code}`);
  }
  return {
    release() {
      flock(fd, LOCK_UN);
      fs.closeSync(fd);
      return Promise.resolve();
    },
  };
}

export const bunFileSystem: FileSystem = { ...nodeFileSystem, tryLock };
