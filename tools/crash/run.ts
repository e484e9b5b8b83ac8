/**
 * Crash harness: real `kill -9`s of a process appending in `durable` mode (its generic
 * log in `sync` mode every other run, the writer then on the killed process's main thread).
 *
 *   deno task crash [--iterations N] [--seed S]      bun run crash [...]
 *
 * Each iteration starts tools/crash/child.ts on a directory (a fresh one every 10
 * iterations, otherwise the one the previous, killed child left), reads the positions it
 * acknowledges, SIGKILLs it at a random moment (usually while it appends; one time in
 * ten while it is still opening and recovering), then opens the directory itself and
 * checks the invariant:
 *
 * - generic log: at least every acknowledged event is there, event n holds exactly what
 *   the child wrote at position n, and the log ends on the last event of an append (a
 *   clean prefix, no append half-written);
 * - order-book log: at least every acknowledged event is there, the book is not crossed,
 *   and snapshot + tail recovers the very state a full replay does (same state hash).
 *
 * Ends with one summary line; exits non-zero if any event was lost or any check failed.
 */
import process from "node:process";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventStore } from "../../mod.ts";
import { detectRuntime, fileStorage } from "../../src/adapter/file/index.ts";
import { siblingModule } from "../../src/wal/writer-thread.ts";
import { orderBookCodecs, OrderBookEngine, random, WORKLOAD_INSTRUMENT } from "../../src/orderbook/index.ts";
import { crashProbeEvents, probeText } from "./probe.ts";

const option = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};
const iterations = option("iterations", 200);
const seed = option("seed", Date.now() % 1_000_000);
const ITERATIONS_PER_DIRECTORY = 10;
const next = random(seed);
const isDeno = "Deno" in globalThis;
const runtime = `${detectRuntime()} ${process.versions[detectRuntime()]}`;
// The child beside this file: child.ts from the sources, child.js once compiled for Node.
const childScript = fileURLToPath(siblingModule(import.meta.url, "child"));

interface Killed {
  acknowledged: { generic: number; book: number };
  ready: { generic: number; book: number } | undefined;
}

/** Runs the child until a random moment, then SIGKILLs it. */
function runAndKill(directory: string, run: number): Promise<Killed> {
  const args = isDeno ? ["run", "-A", childScript, directory, String(seed), String(run)] : [childScript, directory, String(seed), String(run)];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const result: Killed = { acknowledged: { generic: 0, book: 0 }, ready: undefined };
  const early = next() < 0.1;
  const delay = early ? next() * 150 : 5 + next() * 250;
  let buffered = "";
  const kill = () => child.kill("SIGKILL");
  if (early) setTimeout(kill, delay);
  child.stdout!.on("data", (chunk: Uint8Array) => {
    buffered += new TextDecoder().decode(chunk);
    let end: number;
    while ((end = buffered.indexOf("\n")) >= 0) {
      const [word, generic, book] = buffered.slice(0, end).split(" ");
      buffered = buffered.slice(end + 1);
      const positions = { generic: Number(generic), book: Number(book) };
      if (word === "ready") {
        result.ready = positions;
        result.acknowledged = positions;
        if (!early) setTimeout(kill, delay);
      } else if (word === "ack") {
        result.acknowledged = {
          generic: Math.max(result.acknowledged.generic, positions.generic),
          book: Math.max(result.acknowledged.book, positions.book),
        };
      }
    }
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`child exited by itself (code ${code}, signal ${signal}) in run ${run}`));
      else resolve(result);
    });
  });
}

async function checkGeneric(directory: string, acknowledged: number): Promise<number> {
  const store = new EventStore({ events: crashProbeEvents(), storage: fileStorage(`${directory}/generic`, { durability: "durable" }) });
  await store.open();
  try {
    let position = 0;
    let lastWasEnd: boolean | undefined;
    for await (const chunk of store.readStreamChunks("probe")) {
      for (const event of chunk) {
        position++;
        lastWasEnd = event.data.last;
        if (event.position !== position || event.data.n !== position || event.data.text !== probeText(position)) {
          throw new Error(`generic log: position ${position} holds ${JSON.stringify(event.data)} at ${event.position}`);
        }
      }
    }
    if (position !== store.headPosition) throw new Error(`generic log: read ${position} events of ${store.headPosition}`);
    if (lastWasEnd === false) throw new Error(`generic log: ends at ${position}, inside an append (half of it is visible)`);
    return Math.max(0, acknowledged - store.headPosition);
  } finally {
    await store.close();
  }
}

async function checkBook(directory: string, acknowledged: number): Promise<number> {
  const open = (snapshotEvery?: number) =>
    OrderBookEngine.open({
      instruments: [WORKLOAD_INSTRUMENT],
      storage: fileStorage(`${directory}/book`, { durability: "durable", codecs: orderBookCodecs }),
      snapshotEvery,
    });
  const replayed = await open();
  const head = replayed.store.headPosition;
  const book = replayed.book(WORKLOAD_INSTRUMENT.symbol);
  const bid = book.bids.best()?.price;
  const ask = book.asks.best()?.price;
  if (bid !== undefined && ask !== undefined && bid >= ask) throw new Error(`book log: crossed book after recovery (bid ${bid}, ask ${ask})`);
  const fullReplay = await replayed.stateHash(WORKLOAD_INSTRUMENT.symbol);
  await replayed.close();
  const fromSnapshot = await open(500);
  const snapshotHash = await fromSnapshot.stateHash(WORKLOAD_INSTRUMENT.symbol);
  await fromSnapshot.close();
  if (snapshotHash !== fullReplay) throw new Error(`book log: snapshot + tail gives state ${snapshotHash}, full replay ${fullReplay}`);
  return Math.max(0, acknowledged - head);
}

const started = performance.now();
let directory = "";
let acknowledgedEvents = 0;
let lost = 0;
let earlyKills = 0;
for (let run = 1; run <= iterations; run++) {
  if ((run - 1) % ITERATIONS_PER_DIRECTORY === 0) {
    if (directory) rmSync(directory, { recursive: true, force: true });
    directory = mkdtempSync(join(tmpdir(), "eventfold-crash-"));
  }
  const killed = await runAndKill(directory, run);
  if (killed.ready === undefined) earlyKills++;
  else acknowledgedEvents += killed.acknowledged.generic - killed.ready.generic + killed.acknowledged.book - killed.ready.book;
  const lostHere = await checkGeneric(directory, killed.acknowledged.generic) + await checkBook(directory, killed.acknowledged.book);
  if (lostHere > 0) console.error(`run ${run}: ${lostHere} acknowledged events lost (directory kept: ${directory})`);
  lost += lostHere;
  const status = `${run} / ${iterations} kills, ${acknowledgedEvents} acknowledged, ${lost} lost`;
  if (process.stdout.isTTY) process.stdout.write(`\r  ${status}`);
  else if (run % 500 === 0) console.log(`  ${status}`); // long runs logged to a file show progress too
}
if (process.stdout.isTTY) process.stdout.write("\r\x1b[2K");
if (lost === 0) rmSync(directory, { recursive: true, force: true });
const seconds = ((performance.now() - started) / 1000).toFixed(0);
console.log(
  `crash harness on ${runtime}: ${iterations} iterations (${earlyKills} killed while opening), ` +
    `${acknowledgedEvents.toLocaleString("en")} acknowledged events, ${lost} lost, seed ${seed}, ${seconds} s`,
);
if (lost > 0) process.exitCode = 1;
