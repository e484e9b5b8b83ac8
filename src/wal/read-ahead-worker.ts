/**
 * The read-ahead thread's entry point as a Web Worker (Deno and Bun): the one message starts
 * it. Node starts the same work from src/adapter/node/read-ahead-worker.ts.
 */
import type { ReadAheadStart } from "./read-ahead.ts";
import { runReadAhead } from "./read-ahead-thread.ts";

declare const self: { onmessage: ((event: { data: ReadAheadStart }) => void) | null };

self.onmessage = (event) => {
  self.onmessage = null;
  void runReadAhead(event.data);
};
