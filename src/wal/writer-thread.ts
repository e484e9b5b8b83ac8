/**
 * How the main thread starts and talks to the writer thread. Deno and Bun run it as a
 * Web Worker (`webWorkerThread`, below); Node has no global Worker and runs it on
 * `node:worker_threads` (src/adapter/node/writer-thread.ts). Both carry the same two
 * shared buffers and the same few messages (writer.ts); everything else is shared memory.
 */
import type { WriterMessage, WriterStart } from "./writer.ts";

/** The writer thread, as the WAL's main side uses it. */
export interface WriterThread {
  /** Sends the start message (once). */
  start(message: WriterStart): void;
  /** Registers the handlers of the writer's messages and of its death by an uncaught error. */
  listen(onMessage: (message: WriterMessage) => void, onError: (message: string) => void): void;
  /** Stops the thread. */
  terminate(): void;
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
