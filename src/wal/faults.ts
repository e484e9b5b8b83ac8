/**
 * Fault injection for the WAL's file layer (tests and the reliability harness): the nth
 * call of an operation fails with an errno-style error, once (transient) or from then on
 * (persistent). Plain data, so it can be handed to the writer Worker.
 */
import { type FileHandle, type FileSystem, forwardingFileSystem, forwardingHandle } from "./file-system.ts";

/** The file operations a fault can hit. */
export type FaultOperation = "open" | "write" | "resize" | "syncData" | "rename" | "syncDirectory";

/** One injected fault: the nth call of an operation fails. */
export interface Fault {
  /** Which operation fails. */
  operation: FaultOperation;
  /** 1-based count of calls of that operation (in the process that holds the plan). */
  nth: number;
  /** The errno-style code of the error (default EIO). */
  code?: "EIO" | "ENOSPC";
  /** Fail every call from the nth on, not just the nth. */
  persistent?: boolean;
  /** `error` (default) throws; `hang` blocks the calling thread for `hangMs` first (a
   * stalled disk); `slow` blocks it for `hangMs`, then lets the call succeed (a disk that
   * recovers); `crash` kills the writer Worker with an uncaught error. */
  effect?: "error" | "hang" | "slow" | "crash";
  /** How long a `hang` or a `slow` call blocks (default 60 s). */
  hangMs?: number;
}

export class InjectedFault extends Error {
  readonly code: string;
  /** Set when the fault should kill the thread rather than be handled. */
  readonly crash: boolean;
  constructor(operation: FaultOperation, code: string, call: number, crash = false) {
    super(`${code}: injected ${operation} ${crash ? "crash" : "failure"} (call ${call})`);
    this.code = code;
    this.crash = crash;
  }
}

export function withFaults(fs: FileSystem, faults: readonly Fault[]): FileSystem {
  const calls: Record<FaultOperation, number> = { open: 0, write: 0, resize: 0, syncData: 0, rename: 0, syncDirectory: 0 };
  const check = (operation: FaultOperation) => {
    const call = ++calls[operation];
    for (const fault of faults) {
      if (fault.operation === operation && (call === fault.nth || (fault.persistent && call > fault.nth))) {
        if (fault.effect === "hang" || fault.effect === "slow") {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, fault.hangMs ?? 60_000);
          if (fault.effect === "slow") return;
        }
        throw new InjectedFault(operation, fault.code ?? "EIO", call, fault.effect === "crash");
      }
    }
  };
  const wrap = (handle: FileHandle): FileHandle =>
    forwardingHandle(handle, {
      writeAt(bytes, offset, length, position) {
        check("write");
        handle.writeAt(bytes, offset, length, position);
      },
      resize(length) {
        check("resize");
        handle.resize(length);
      },
      syncData() {
        check("syncData");
        handle.syncData();
      },
    });
  return forwardingFileSystem(fs, {
    openWrite(path) {
      check("open");
      return wrap(fs.openWrite(path));
    },
    createExclusive(path) {
      check("open");
      return wrap(fs.createExclusive(path));
    },
    rename(from, to) {
      check("rename");
      fs.rename(from, to);
    },
    syncDirectory(path) {
      check("syncDirectory");
      fs.syncDirectory(path);
    },
  });
}
