/** The eventfold CLI, run as a process on this runtime, on a WAL made by the demo. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { flipByte, segments } from "./support/wal.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { scriptCommand } from "./support/runtime.ts";
import { detectRuntime, fileStorage } from "../src/adapter/file/index.ts";
import { createCommandHandler, EventStore } from "../mod.ts";
import { bank, BankCommand, bankEvents } from "../examples/bank.ts";
import { scriptPath } from "./support/runtime.ts";

function run(script: string, args: string[]) {
  const [command, commandArgs] = scriptCommand(script, args);
  const result = spawnSync(command, commandArgs, { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
const cli = (...args: string[]) => run("src/cli/main.ts", args);

/** A WAL directory written by the demo, with the demo's output. */
function demoLog() {
  const directory = temporaryDirectory("eventfold-cli-");
  const wal = join(directory.path, "wal");
  const demo = run("examples/exchange.ts", ["--commands", "3000", "--seed", "5", "--dir", wal]);
  assert.equal(demo.status, 0, demo.stderr);
  const events = Number(/recovered ([\d,]+) events/.exec(demo.stdout)![1].replaceAll(",", ""));
  const hash = /state hash ([0-9a-f]{16})/.exec(demo.stdout)![1];
  return { directory, wal, events, hash };
}

test("inspect, verify, dump and replay read a log made by the demo", () => {
  const { directory, wal, events, hash } = demoLog();
  try {
    const inspected = cli("inspect", wal, "--json");
    assert.equal(inspected.status, 0, inspected.stderr);
    const report = JSON.parse(inspected.stdout);
    assert.equal(report.records, events);
    assert.equal(report.durablePosition, events);
    assert.deepEqual(Object.keys(report.streams), ["book-XBT-USD"]);
    assert.equal(Object.values(report.eventTypes as Record<string, number>).reduce((a, b) => a + b, 0), events);
    assert.ok(report.eventTypes.OrderAccepted > 0 && report.eventTypes.TradeExecuted > 0);
    assert.equal(report.problem, undefined);
    assert.match(cli("inspect", wal).stdout, /event types:\n\s+OrderModified/);

    const verified = cli("verify", wal);
    assert.equal(verified.status, 0);
    assert.match(verified.stdout, new RegExp(`ok: ${events.toLocaleString("en")} records`));

    const dumped = cli("dump", wal, "--stream", "book-XBT-USD", "--from", "5", "--json");
    assert.equal(dumped.status, 0, dumped.stderr);
    const lines = dumped.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(lines.length, events - 4);
    assert.equal(lines[0].position, 5);
    assert.equal(cli("dump", wal, "--stream", "nobody").stdout, "");

    const replayed = cli("replay", wal);
    assert.equal(replayed.status, 0, replayed.stderr);
    assert.match(replayed.stdout, new RegExp(`book-XBT-USD: \\d+ resting orders, state hash ${hash}`));
    assert.match(replayed.stdout, new RegExp(`replayed ${events.toLocaleString("en")} events`));
  } finally {
    directory.remove();
  }
});

test("verify names the file and offset of corruption; repair needs --yes, then keeps the valid prefix", () => {
  const { directory, wal, events } = demoLog();
  try {
    const segment = join(wal, segments(wal)[0]);
    flipByte(segment, 5000);
    const verified = cli("verify", wal);
    assert.equal(verified.status, 1);
    assert.match(verified.stdout, new RegExp(`FAILED after \\d+ valid records: record checksum mismatch in ${segment} at offset \\d+ \\(corruption`));
    const inspected = JSON.parse(cli("inspect", wal, "--json").stdout);
    assert.ok(inspected.records < events && inspected.problem.torn === false);

    const unconfirmed = cli("repair", wal);
    assert.equal(unconfirmed.status, 2);
    assert.match(unconfirmed.stderr, /run again with --yes/);
    assert.equal(cli("verify", wal).status, 1, "repair without --yes changed the log");

    const repaired = cli("repair", wal, "--yes");
    assert.equal(repaired.status, 0, repaired.stderr);
    assert.match(repaired.stdout, new RegExp(`kept ${inspected.records} records; set aside \\(nothing deleted\\):\\n  segment-\\d{16}\\.wal\\.broken-\\d+\\n`));
    assert.ok(readdirSync(wal).some((name) => name.includes(".broken")), "the cut bytes are kept");
    assert.equal(cli("verify", wal).status, 0);
  } finally {
    directory.remove();
  }
});

test("replay refuses a log corrupt before its end (exit 1) rather than fold the prefix", () => {
  const { directory, wal } = demoLog();
  try {
    flipByte(join(wal, segments(wal)[0]), 5000);
    const replayed = cli("replay", wal);
    assert.equal(replayed.status, 1, replayed.stdout);
    assert.match(replayed.stdout, /^FAILED: record checksum mismatch in .* \(corruption.*; nothing replayed$/m);
    assert.doesNotMatch(replayed.stdout, /state hash/);
  } finally {
    directory.remove();
  }
});

/** A bank log in `directory` with accounts a and b opened. */
async function bankLog(directory: string) {
  const store = new EventStore({ events: bankEvents, storage: fileStorage(directory) });
  await store.open();
  const handler = createCommandHandler({ store, decider: bank, command: BankCommand, streamId: (c) => `account-${c.account}` });
  for (const account of ["a", "b"]) await handler.handle({ type: "open", account, owner: account.toUpperCase() });
  return { store, handler };
}

test("--events loads an app's registry and decider: dump, inspect and replay work on any app's log", async () => {
  const directory = temporaryDirectory("eventfold-cli-");
  try {
    const { store, handler } = await bankLog(directory.path);
    await handler.handle({ type: "deposit", account: "a", cents: 70 });
    await handler.handle({ type: "withdraw", account: "a", cents: 20 }, { metadata: { correlationId: "c-1" } });
    await store.close();
    const app = scriptPath("test/support/bank-app.ts");

    const dumped = cli("dump", directory.path, "--events", app, "--json");
    assert.equal(dumped.status, 0, dumped.stderr);
    const events = dumped.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(events.map((e) => [e.streamId, e.type, e.data]), [
      ["account-a", "AccountOpened", { owner: "A" }],
      ["account-b", "AccountOpened", { owner: "B" }],
      ["account-a", "MoneyDeposited", { cents: 70 }],
      ["account-a", "MoneyWithdrawn", { cents: 20 }],
    ]);
    assert.deepEqual(events[3].metadata, { correlationId: "c-1" });

    const inspected = cli("inspect", directory.path, "--events", app, "--json");
    assert.equal(inspected.status, 0, inspected.stderr);
    assert.deepEqual(JSON.parse(inspected.stdout).streams, { "account-a": 3, "account-b": 1 });

    const replayed = cli("replay", directory.path, "--events", app);
    assert.equal(replayed.status, 0, replayed.stderr);
    const sha = async (state: unknown) =>
      [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(state))))]
        .map((b) => b.toString(16).padStart(2, "0")).join("");
    assert.match(replayed.stdout, new RegExp(`^account-a: version 3, state hash ${await sha({ open: true, balance: 50 })}$`, "m"));
    assert.match(replayed.stdout, new RegExp(`^account-b: version 1, state hash ${await sha({ open: true, balance: 0 })}$`, "m"));
    assert.match(replayed.stdout, /replayed 4 events/);

    // Without --events the log is read as the order book's: nothing to fold there.
    assert.match(cli("replay", directory.path).stdout, /replayed 0 events/);
    // A module that is no app module, or none at all: one line, exit 2.
    for (const bad of [scriptPath("test/support/seed.ts"), join(directory.path, "missing.js")]) {
      const refused = cli("dump", directory.path, "--events", bad);
      assert.equal(refused.status, 2, refused.stdout);
      assert.match(refused.stderr, /^eventfold: --events .*(exports no `events` registry|cannot load the module)/);
    }
  } finally {
    directory.remove();
  }
});

test("every command has --help; errors are one line and a non-zero exit, the stack only with --verbose", () => {
  for (const command of ["inspect", "verify", "repair", "dump", "replay", "bench", "demo", "crash"]) {
    const help = cli(command, "--help");
    assert.equal(help.status, 0);
    assert.match(help.stdout, new RegExp(`^usage: eventfold ${command}`));
  }
  assert.match(cli("--help").stdout, /usage: eventfold <command>/);
  for (
    const args of [
      ["nope"], ["verify", "/no/such/directory"], ["dump"], ["dump", "/tmp", "--from", "zero"], ["dump", "/tmp", "--stram", "x"],
      ["dump", "/tmp", "--stream"], ["verify", "/tmp", "/other"],
    ]
  ) {
    const result = cli(...args);
    assert.equal(result.status, 2, args.join(" "));
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, /^eventfold: /);
  }
  const verbose = cli("verify", "/no/such/directory", "--verbose");
  assert.match(verbose.stderr, /\n\s+at /);
});

test("demo, crash and bench run through the CLI", () => {
  const directory = temporaryDirectory("eventfold-cli-");
  try {
    const demo = cli("demo", "--commands", "2000", "--dir", join(directory.path, "demo"));
    assert.equal(demo.status, 0, demo.stderr);
    assert.match(demo.stdout, /state hash matches/);
    assert.ok(existsSync(join(directory.path, "demo")));
    const crash = cli("crash", "--iterations", "3", "--seed", "11");
    assert.equal(crash.status, 0, crash.stderr);
    assert.match(crash.stdout, /3 iterations .* 0 lost, seed 11/);
    const results = join(directory.path, "bench");
    const bench = cli("bench", "--quick", "--out", results);
    assert.equal(bench.status, 0, bench.stderr);
    const runtime = detectRuntime();
    for (const extension of ["json", "md", "svg"]) assert.ok(existsSync(join(results, `${runtime}.${extension}`)), extension);
  } finally {
    directory.remove();
  }
});

test("a deleted stream: replay leaves it out; scavenge needs --yes, then erases it and the log still verifies", async () => {
  const directory = temporaryDirectory("eventfold-cli-");
  try {
    const { store } = await bankLog(directory.path);
    await store.deleteStream("account-b");
    await store.close();
    const app = scriptPath("test/support/bank-app.ts");

    const replayed = cli("replay", directory.path, "--events", app);
    assert.equal(replayed.status, 0, replayed.stderr);
    assert.doesNotMatch(replayed.stdout, /account-b/);
    assert.match(replayed.stdout, /replayed 1 events/);

    const unconfirmed = cli("scavenge", directory.path);
    assert.equal(unconfirmed.status, 2);
    assert.match(unconfirmed.stderr, /run again with --yes/);
    const dump = () => cli("dump", directory.path, "--events", app, "--json").stdout.trim().split("\n").map((line) => JSON.parse(line).type);
    assert.deepEqual(dump(), ["AccountOpened", "AccountOpened", "$streamDeleted"]);

    const scavenged = cli("scavenge", directory.path, "--yes");
    assert.equal(scavenged.status, 0, scavenged.stderr);
    assert.match(scavenged.stdout, /scavenged: 1 records erased, 1 segment files rewritten/);
    assert.deepEqual(dump(), ["AccountOpened", "$redacted", "$streamDeleted"]);
    assert.equal(cli("verify", directory.path, "--events", app).status, 0);
  } finally {
    directory.remove();
  }
});
