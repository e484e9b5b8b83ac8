/**
 * The writer's entry point as a Web Worker (Deno and Bun): the first message starts it.
 * Node starts the same writer from src/adapter/node/writer-worker.ts.
 */
import { runWriter, type WriterMessage, type WriterStart } from "./writer.ts";

declare const self: {
  onmessage: ((event: { data: WriterStart }) => void) | null;
  postMessage(message: WriterMessage): void;
};

self.onmessage = (event) => {
  self.onmessage = null;
  void runWriter(event.data, (message) => self.postMessage(message));
};
