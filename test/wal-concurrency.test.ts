import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { ConcurrencyError, StorageError } from "../mod.ts";
import { random } from "../src/orderbook/index.ts";
import { noted } from "./support/fixtures.ts";
import { ns, openWal } from "./support/wal.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { scriptCommand } from "./support/runtime.ts";


test("two processes: the second writer is refused while the first lives, and takes over once it is killed", async () => {
  const directory = temporaryDirectory();
  const [command, args] = scriptCommand("test/support/hold-wal.ts", [directory.path]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      let output = "";
      child.stdout!.on("data", (chunk: Uint8Array) => {
        output += new TextDecoder().decode(chunk);
        const ready = /ready (\d+)/.exec(output);
        if (ready) resolve(Number(ready[1]));
      });
      child.on("exit", (code) => reject(new Error(`the holder exited early (code ${code})`)));
    });
    await assert.rejects(openWal(directory.path), (error: unknown) =>
      error instanceof StorageError && new RegExp(`already open for writing by process ${pid}`).test(error.message));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    const { store } = await openWal(directory.path);
    assert.deepEqual(await ns(store), [1, 2, 3]);
    await store.close();
  } finally {
    child.kill("SIGKILL");
    directory.remove();
  }
});

test("many concurrent appenders on one stream: expected versions hold, no event lost or duplicated", async () => {
  const directory = temporaryDirectory();
  const { store } = await openWal(directory.path, { durability: "durable" });
  const next = random(7);
  const writers = 8;
  const each = 25;
  let conflicts = 0;
  try {
    await Promise.all(Array.from({ length: writers }, async (_, writer) => {
      for (let i = 0; i < each; i++) {
        for (;;) {
          const version = store.streamVersion("s");
          // Let the other writers run between the read and the write.
          await new Promise((resolve) => setTimeout(resolve, next() * 2));
          try {
            await store.append("s", [noted(writer * 1000 + i)], { expectedVersion: version });
            break;
          } catch (error) {
            if (!(error instanceof ConcurrencyError)) throw error;
            conflicts++;
          }
        }
      }
    }));
    const events = await store.readStream("s");
    assert.deepEqual(events.map((event) => event.streamVersion), Array.from({ length: writers * each }, (_, i) => i + 1));
    const expected = Array.from({ length: writers }, (_, w) => Array.from({ length: each }, (_, i) => w * 1000 + i)).flat();
    assert.deepEqual(events.map((event) => (event.data as { n: number }).n).sort((a, b) => a - b), expected);
    assert.ok(conflicts > 0, "the writers never collided: the test did not exercise the expected-version check");
  } finally {
    await store.close();
    directory.remove();
  }
});
