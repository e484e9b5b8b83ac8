/** The WAL writer on a `node:worker_threads` Worker: Node's counterpart of webWorkerThread. */
import { Worker } from "node:worker_threads";
import type { WriterMessage } from "../../wal/writer.ts";
import { siblingModule, type SpawnWriter } from "../../wal/writer-thread.ts";

export const nodeWorkerThread: SpawnWriter = () => {
  const worker = new Worker(new URL(siblingModule(import.meta.url, "writer-worker")));
  let terminated = false;
  return {
    start: (message) => worker.postMessage(message),
    listen(onMessage, onError) {
      worker.on("message", (message: WriterMessage) => onMessage(message));
      worker.on("error", (error: Error) => onError(error.message));
      // An exit without a word (killed by a bug outside JavaScript) is a death too.
      worker.on("exit", (code) => {
        if (code !== 0 && !terminated) onError(`the writer thread exited with code ${code}`);
      });
    },
    terminate() {
      terminated = true;
      void worker.terminate();
    },
  };
};
