/** The storage conformance suite, unchanged, over the file WAL adapters. */
import { fileStorage as nodeStorage } from "../src/adapter/node/index.ts";
import { detectRuntime, fileStorage } from "../src/adapter/file/index.ts";
import { conformanceSuite } from "../src/testing/index.ts";
import { temporaryDirectory } from "./support/temp.ts";

const runtime = detectRuntime();

const fixture = (make: (directory: string) => ReturnType<typeof fileStorage>) => () => {
  const directory = temporaryDirectory();
  return Promise.resolve({
    open: () => make(`${directory.path}/wal`),
    cleanup: () => Promise.resolve(directory.remove()),
  });
};

conformanceSuite(`wal, ${runtime} adapter chosen automatically`, fixture((d) => fileStorage(d)));
conformanceSuite(`wal, async mode`, fixture((d) => fileStorage(d, { durability: "async", maxDelayMs: 2 })));
if (runtime === "deno") {
  // Node's adapter (node:fs, a worker_threads writer, the flock(1) lock) runs on Deno too.
  conformanceSuite("wal, node adapter on deno", fixture((d) => nodeStorage(d, { ringBytes: 4096 })));
} else {
  conformanceSuite("wal, sync mode", fixture((d) => fileStorage(d, { durability: "sync" })));
}
