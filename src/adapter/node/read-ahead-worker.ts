/** The read-ahead thread's entry point on a `node:worker_threads` Worker: the one message starts it. */
import { parentPort } from "node:worker_threads";
import type { ReadAheadStart } from "../../wal/read-ahead.ts";
import { runReadAhead } from "../../wal/read-ahead-thread.ts";

parentPort!.once("message", (start: ReadAheadStart) => {
  void runReadAhead(start);
});
