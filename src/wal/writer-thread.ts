/**
 * How the main thread starts and talks to the writer thread. Deno and Bun run it as a
 * Web Worker (`webWorkerThread`, below); Node has no global Worker and runs it on
 * `node:worker_threads` (src/adapter/node/writer-thread.ts). Both carry the same two
 * shared buffers and the same few messages (writer.ts); everything else is shared memory.
 */
import { openWriter, type PostToMain, reportFailure, type Writer, type WriterMessage, type WriterStart } from "./writer.ts";

/** The writer thread, as the WAL's main side uses it. */
export interface WriterThread {
  /** Sends the start message (once). */
  start(message: WriterStart): void;
  /** Registers the handlers of the writer's messages and of its death by an uncaught error. */
  listen(onMessage: (message: WriterMessage) => void, onError: (message: string) => void): void;
  /** Stops the thread. */
  terminate(): void;
  /**
   * Present when the writer runs on the caller's thread (`sync` mode, writer.ts): writes
   * and syncs what is published before it returns. A thread of its own needs no call.
   */
  step?(): void;
}

/** Starts a writer thread. */
export type SpawnWriter = () => WriterThread;

/**
 * The URL of module `name` (given without extension) beside `base`: `.ts` when running
 * from the TypeScript sources, `.js` when running the built package, so that a Worker
 * or a dynamic import finds the file that is really there.
 */
export function siblingModule(base: string, name: string): string {
  const extension = /\.ts$/.test(new URL(base).pathname) ? ".ts" : ".js";
  return new URL(`./${name}${extension}`, base).href;
}

/** The writer as a Web Worker (Deno, Bun). */
export const webWorkerThread: SpawnWriter = () => {
  const worker = new Worker(siblingModule(import.meta.url, "writer-worker"), { type: "module" });
  return {
    start: (message) => worker.postMessage(message),
    listen(onMessage, onError) {
      worker.onmessage = (event: MessageEvent<WriterMessage>) => onMessage(event.data);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault?.();
        onError(event.message ?? "unknown error");
      };
    },
    terminate: () => worker.terminate(),
  };
};

/**
 * The writer on the caller's thread, for `sync` mode: each `step` (after an append is
 * published) writes and fdatasyncs it before returning, so an acknowledgement costs the
 * fdatasync and no hand-over between threads (measured: docs/wal-format.md). Nothing runs
 * in between: a write or sync error is reported at once (an injected crash too, as there
 * is no thread to kill), and a hung disk blocks the caller, as a database's commit would.
 */
export const inlineWriterThread: SpawnWriter = () => {
  let writer: Writer | undefined;
  let start: WriterStart | undefined;
  let post: PostToMain = () => {};
  return {
    start(message) {
      start = message;
      openWriter(message, (m) => post(m)).then((opened) => {
        writer = opened;
        post({ type: "ready" });
      }, (error) => reportFailure(message, error, post));
    },
    listen(onMessage) {
      post = onMessage;
    },
    step() {
      const current = writer;
      if (current === undefined) return;
      try {
        if (current.pass()) return;
        writer = undefined;
        post({ type: "closed" });
      } catch (error) {
        // Fail-stop, as on a thread of its own: nothing more is written; the segment is released.
        writer = undefined;
        reportFailure(start!, error, post);
        abandon(current);
      }
    },
    terminate() {
      // Never throws: the WAL's close calls it on the way to releasing its lock.
      if (writer !== undefined) abandon(writer);
      writer = undefined;
    },
  };
};

/**
 * Releases the segment of a writer the WAL gave up on. The log has failed or is being
 * torn down, and what the writer was told to sync either was synced or is reported
 * failed already: an error closing the file changes nothing about what was acknowledged.
 */
function abandon(writer: Writer): void {
  try {
    writer.abandon();
  } catch {
    // See above: the first error, if any, is the one reported.
  }
}
