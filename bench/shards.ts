/**
 * Sharding benchmark: the same order commands on four symbols, sent through the router to
 * one exchange shard serving all four, then to two shards serving two each (each shard a
 * process: `eventfold shard`, its WAL replicated to its own stream on the machine's NATS),
 * side by side in one run. Every command is answered once replicated.
 *
 *   node scripts/each-runtime.mjs bench/shards.ts [--quick] [--out DIR]   (npm run bench:shards)
 *
 * Commands: exchange-core's mix (bench/README), one stream of it per symbol; requests of
 * 256 commands of one symbol, two requests in flight per symbol. Writes
 * DIR/shards-<runtime>.json and .md.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { natsLog, Router } from "../src/adapter/nats/index.ts";
import { exchangeCoreMix, type OrderCommand } from "../src/orderbook/index.ts";
import { temporaryDirectory } from "../test/support/temp.ts";
import { NATS_URL, streamName } from "../test/support/nats.ts";
import { scriptCommand } from "../test/support/runtime.ts";
import { endProgress, formatRate, machine, newHistogram, type Percentiles, percentiles, progress, runtimeName } from "./lib/stats.ts";

const SYMBOLS = ["S0", "S1", "S2", "S3"];
const REQUEST = 256;
const LANES_PER_SYMBOL = 2;

interface Row {
  shards: number;
  commands: number;
  commandsPerSecond: number;
  request: Percentiles;
}

/** Starts a shard process serving `symbols`; resolves once it serves them. */
async function startShard(directory: string, exchange: string, symbols: string[], stream: string): Promise<ChildProcess> {
  const [command, args] = scriptCommand("src/cli/main.ts", [
    "shard", directory, "--exchange", exchange, "--symbols", symbols.join(","), "--stream", stream, "--servers", NATS_URL,
  ]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      if (output.includes("serving")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`the shard exited (${code}): ${output}`)));
  });
  return child;
}

/** The commands of `workload` for `symbol`. */
const forSymbol = (commands: readonly OrderCommand[], symbol: string) => commands.map((command) => ({ ...command, symbol }));

async function run(shards: number, setup: OrderCommand[], commands: OrderCommand[], directory: string): Promise<Row> {
  const exchange = streamName("bench");
  const streams = Array.from({ length: shards }, () => streamName("shard"));
  const perShard = SYMBOLS.length / shards;
  const children = await Promise.all(streams.map((stream, i) =>
    startShard(join(directory, `shard-${shards}-${i}`), exchange, SYMBOLS.slice(i * perShard, (i + 1) * perShard), stream)
  ));
  const router = await Router.connect({ servers: NATS_URL, exchange });
  try {
    for (const symbol of SYMBOLS) {
      const mine = forSymbol(setup, symbol);
      for (let i = 0; i < mine.length; i += 1000) await router.submit(mine.slice(i, i + 1000));
    }
    const latency = newHistogram();
    let done = 0;
    const started = performance.now();
    await Promise.all(SYMBOLS.flatMap((symbol) => {
      const mine = forSymbol(commands, symbol);
      let next = 0;
      return Array.from({ length: LANES_PER_SYMBOL }, async () => {
        // Lanes of one symbol take requests in turn: its commands stay in order per request.
        while (next < mine.length) {
          const request = mine.slice(next, next += REQUEST);
          const t = performance.now();
          const outcomes = await router.submit(request);
          latency.recordValue(Math.max(1, Math.round((performance.now() - t) * 1e6)));
          done += outcomes.length;
          if ((done & 0x3fff) < REQUEST) progress(`${shards} shard(s): ${done}/${commands.length * SYMBOLS.length}`);
        }
      });
    }));
    const seconds = (performance.now() - started) / 1000;
    endProgress();
    return { shards, commands: done, commandsPerSecond: Math.round(done / seconds), request: percentiles(latency) };
  } finally {
    await router.close();
    for (const child of children) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    for (const stream of streams) {
      const log = natsLog({ servers: NATS_URL, stream });
      await log.open().then(() => log.remove()).catch(() => {});
      await log.close();
    }
  }
}

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, out: { type: "string", default: "bench/results" } },
});
const quick = values.quick!;
const count = quick ? 5_000 : 100_000;
const workload = await exchangeCoreMix(count, 1, 1_000);
const runtime = runtimeName();
const version = process.versions[runtime]!;
const directory = temporaryDirectory("eventfold-bench-shards-");
const rows: Row[] = [];
try {
  for (const shards of [1, 2]) rows.push(await run(shards, workload.setup, workload.commands, directory.path));
} finally {
  directory.remove();
}
const one = rows[0]!.commandsPerSecond;
const report = [
  `## Sharded exchange: ${runtime} ${version}${quick ? " (quick: figures not worth quoting)" : ""}`,
  "",
  `${new Date().toISOString().slice(0, 10)}, ${machine()}; ${workload.name}, ${count.toLocaleString("en")} commands on each of ${SYMBOLS.length} symbols; requests of ${REQUEST} commands, ${LANES_PER_SYMBOL} in flight per symbol; each shard a process replicating to its own stream (1 replica, the machine's NATS); a command is answered once replicated. Everything (client, shards, NATS) on the same 2 cores.`,
  "",
  "| shards | commands/s | vs 1 shard | request p50 ms | p99 ms |",
  "| ---: | ---: | ---: | ---: | ---: |",
  ...rows.map((row) =>
    `| ${row.shards} | ${formatRate(row.commandsPerSecond)} | ${(row.commandsPerSecond / one).toFixed(2)}x | ${(row.request.p50 / 1000).toFixed(1)} | ${(row.request.p99 / 1000).toFixed(1)} |`
  ),
  "",
].join("\n");
console.log(report);
mkdirSync(values.out!, { recursive: true });
writeFileSync(join(values.out!, `shards-${runtime}.json`), JSON.stringify({ runtime, version, quick, date: new Date().toISOString(), machine: machine(), rows }, null, 2) + "\n");
writeFileSync(join(values.out!, `shards-${runtime}.md`), report);
console.log(`wrote ${values.out}/shards-${runtime}.json and .md`);
