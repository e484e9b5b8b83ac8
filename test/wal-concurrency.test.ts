import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { ConcurrencyError, StorageError } from "../mod.ts";
import { random } from "../src/orderbook/index.ts";
import { noted } from "./support/fixtures.ts";
import { ns, openWal } from "./support/wal.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { scriptCommand } from "./support/runtime.ts";
import { sweepSize } from "./support/sweep.ts";


/** Starts test/support/hold-wal.ts on `directory` (inside `wrapper`, a command prefix); `ready` is its pid once it holds the directory. */
function holdWal(directory: string, wrapper: readonly string[] = []) {
  const [command, args] = scriptCommand("test/support/hold-wal.ts", [directory]);
  const [program, ...programArgs] = [...wrapper, command, ...args];
  const child = spawn(program!, programArgs, { stdio: ["ignore", "pipe", "inherit"] });
  const ready = new Promise<number>((resolve, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      const held = /ready (\d+)/.exec(output);
      if (held) resolve(Number(held[1]));
    });
    child.on("exit", (code) => reject(new Error(`the holder exited early (code ${code})`)));
  });
  return { child, ready };
}

/** Kills the holder (-9), waits until it is gone, then opens the directory: its three events are there. */
async function killAndTakeOver(child: ReturnType<typeof holdWal>["child"], directory: string): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  const { store } = await openWal(directory);
  assert.deepEqual(await ns(store), [1, 2, 3]);
  await store.close();
}

test("two processes: the second writer is refused while the first lives, and takes over once it is killed", async () => {
  const directory = temporaryDirectory();
  const { child, ready } = holdWal(directory.path);
  try {
    const pid = await ready;
    await assert.rejects(openWal(directory.path), (error: unknown) =>
      error instanceof StorageError && new RegExp(`already open for writing by process ${pid}`).test(error.message));
    await killAndTakeOver(child, directory.path);
  } finally {
    child.kill("SIGKILL");
    directory.remove();
  }
});

/** Runs `count` racers at once on `directory`; resolves to their outputs. */
function race(directory: string, journal: string, count: number): Promise<string[]> {
  const startAt = String(Date.now() + 1500); // all started and loaded by then (2 cores)
  return Promise.all(Array.from({ length: count }, () =>
    new Promise<string>((resolve, reject) => {
      const [command, args] = scriptCommand("test/support/race-open.ts", [directory, journal, startAt]);
      const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
      let output = "";
      child.stdout!.on("data", (chunk: Uint8Array) => (output += new TextDecoder().decode(chunk)));
      child.on("error", reject);
      child.on("exit", () => resolve(output.trim()));
    })
  ));
}

/** The journal's tenures must never overlap: every "enter" is followed by the same racer's "leave". */
function checkOneWriterAtATime(journal: string): number {
  const lines = existsSync(journal) ? readFileSync(journal, "utf8").trim().split("\n") : [];
  let holder: string | undefined;
  let tenures = 0;
  for (const line of lines) {
    const [what, pid] = line.split(" ");
    if (what === "enter") {
      assert.equal(holder, undefined, `process ${pid} got the directory while ${holder} held it:\n${lines.join("\n")}`);
      holder = pid;
      tenures++;
    } else {
      assert.equal(pid, holder, `process ${pid} left a directory it did not hold:\n${lines.join("\n")}`);
      holder = undefined;
    }
  }
  assert.equal(holder, undefined, "a racer never left");
  return tenures;
}

const ROUNDS = sweepSize("EVENTFOLD_LOCK_ROUNDS", 12, 3);
const RACERS = 6;

for (const start of ["no LOCK file", "a stale LOCK naming a dead process", "an empty LOCK", "a LOCK holding 0", "a LOCK holding -1"]) {
  test(`${RACERS} openers racing for a directory with ${start}: exactly one writer at any moment (${ROUNDS} rounds)`, async () => {
    const directory = temporaryDirectory();
    try {
      let wins = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const wal = join(directory.path, `round-${round}`);
        mkdirSync(wal);
        if (start !== "no LOCK file") {
          const content = { "a stale LOCK naming a dead process": `${spawnSync(process.execPath, ["--version"]).pid}\n`, "an empty LOCK": "", "a LOCK holding 0": "0\n", "a LOCK holding -1": "-1\n" }[start];
          writeFileSync(join(wal, "LOCK"), content!);
        }
        const journal = join(directory.path, `journal-${round}`);
        const outputs = await race(wal, journal, RACERS);
        for (const output of outputs) assert.match(output, /^(won|refused)$/);
        const won = outputs.filter((output) => output === "won").length;
        assert.ok(won >= 1, `round ${round}: nobody got the directory (${outputs.join(", ")})`);
        assert.equal(checkOneWriterAtATime(journal), won);
        // Every winner's append is in the log, in tenure order: no writer clobbered another.
        const { store } = await openWal(wal);
        assert.equal(store.headPosition, won);
        await store.close();
        wins += won;
      }
      console.log(`lock race (${start}): ${ROUNDS} rounds of ${RACERS} openers, ${wins} tenures, never two at once`);
    } finally {
      directory.remove();
    }
  });
}

const PID_NAMESPACE = ["unshare", "--pid", "--fork", "--kill-child"];
const noPidNamespace = spawnSync(PID_NAMESPACE[0]!, [...PID_NAMESPACE.slice(1), "true"]).status === 0
  ? false
  : "unshare --pid needs root or user namespaces here";

test("a holder that dies as PID 1 of its own pid namespace (a container's entrypoint) releases the directory", { skip: noPidNamespace }, async () => {
  const directory = temporaryDirectory();
  const { child, ready } = holdWal(directory.path, PID_NAMESPACE);
  try {
    const pid = await ready;
    assert.equal(pid, 1, "the holder is PID 1 in its namespace");
    await assert.rejects(openWal(directory.path), /already open for writing by process 1\b/);
    // --kill-child: the holder dies with unshare. Its LOCK still says 1, which is alive
    // in every namespace: only the OS lock can tell that it is gone.
    await killAndTakeOver(child, directory.path);
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

test("reads of durable records while later appends are still in the ring (not yet in the file) return them", async () => {
  const dir = temporaryDirectory();
  const { store, storage } = await openWal(dir.path);
  let durable = 0;
  for (let round = 0; round < 200; round++) {
    let last = 0;
    for (let i = 0; i < 50; i++) last = store.enqueue(`s${i % 3}`, [noted(round * 50 + i)]).position;
    if (durable > 0) {
      // The index already counts this round's records; the writer may not have written them.
      const [record] = await storage.read(durable, durable);
      assert.equal(record!.position, durable);
      assert.deepEqual(storage.decodeEncoded(await storage.readEncoded(durable, durable)).flat().map((r) => r.position), [durable]);
    }
    await store.durable(last);
    durable = last;
  }
  await store.close();
  dir.remove();
});
