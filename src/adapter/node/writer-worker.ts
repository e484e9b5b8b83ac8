/** The writer's entry point on a `node:worker_threads` Worker: the first message starts it. */
import { parentPort } from "node:worker_threads";
import { runWriter, type WriterStart } from "../../wal/writer.ts";

const port = parentPort!;
port.once("message", (start: WriterStart) => {
  void runWriter(start, (message) => port.postMessage(message));
});
