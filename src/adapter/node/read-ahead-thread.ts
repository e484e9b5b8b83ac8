/** The read-ahead thread on a `node:worker_threads` Worker: Node's counterpart of webReadAheadThread. */
import { Worker } from "node:worker_threads";
import type { SpawnReadAhead } from "../../wal/read-ahead.ts";
import { siblingModule } from "../../wal/writer-thread.ts";

export const nodeReadAheadThread: SpawnReadAhead = (onDeath) => {
  const worker = new Worker(new URL(siblingModule(import.meta.url, "read-ahead-worker")));
  worker.on("error", () => onDeath());
  return {
    start: (message) => worker.postMessage(message),
    terminate() {
      void worker.terminate();
    },
  };
};
