/**
 * Replication benchmark: the same one-event appends on the file WAL acknowledged `durable`
 * (local fdatasync) and `replicated` (local fdatasync and the JetStream stream's
 * acknowledgement), side by side in one run; then failover time (a primary process killed
 * by -9 to the first command the promoted standby accepts).
 *
 *   node scripts/each-runtime.mjs bench/replication.ts [--quick] [--out DIR] [--failovers N] [--batches N]
 *   (npm run bench:replication)
 *
 * Appends go through the WAL's hot path, `enqueue`, in batches of 1,024 with `--batches`
 * (default 64) awaiting their acknowledgement, the same for every mode: a replicated
 * acknowledgement takes a network round trip more, so a client that pipelines keeps more
 * in flight (each batch's latency from its first enqueue to its acknowledgement goes into
 * an HDR histogram). `replicated` runs against the machine's NATS
 * (EVENTFOLD_NATS_URL, one replica) and a three-node cluster on loopback started here
 * (three replicas: a quorum of two). Writes DIR/replication-<runtime>.json and .md.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventStore, type StorageAdapter } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { Follower, natsLog, type NatsLog, replicatedStorage } from "../src/adapter/nats/index.ts";
import { noted, type TestEvent, testEvents } from "../test/support/fixtures.ts";
import { temporaryDirectory } from "../test/support/temp.ts";
import { NATS_URL, startCluster, streamName } from "../test/support/nats.ts";
import { scriptCommand } from "../test/support/runtime.ts";
import { endProgress, formatRate, type Percentiles, runtimeName } from "./lib/stats.ts";
import { enqueueBatches } from "./lib/enqueue.ts";

const BATCH = 1024;

interface Row {
  mode: string;
  appends: number;
  appendsPerSecond: number;
  ack: Percentiles;
}

/** `appends` one-event appends by `enqueue`, BATCH at a time, `batchesInFlight` awaiting their acknowledgement. */
async function run(mode: string, storage: StorageAdapter, appends: number, batchesInFlight: number): Promise<Row> {
  const store = new EventStore({ events: testEvents(), storage });
  await store.open();
  const { appendsPerSecond, ack } = await enqueueBatches(store, appends, BATCH, batchesInFlight, mode);
  await store.close();
  endProgress();
  return { mode, appends, appendsPerSecond, ack };
}

/**
 * A primary process writing `replicated` (test/support/replicated-writer.ts) with a hot
 * standby following it here; kill -9 the primary, promote the standby, append: the time
 * from the kill to that append's acknowledgement, in ms.
 */
async function failover(servers: string[], directory: string): Promise<number> {
  const stream = streamName("failover");
  const [command, args] = scriptCommand("test/support/replicated-writer.ts", [join(directory, "primary"), servers.join(","), stream]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`the primary exited (${code})`)));
  });
  const log = natsLog({ servers, stream, replicas: 3, timeoutMs: 5000 });
  const follower = new Follower<TestEvent>({ log, local: fileStorage(join(directory, "standby")), replication: { timeoutMs: 10_000 } });
  const standby = new EventStore({ events: testEvents(), storage: follower.storage });
  await standby.open();
  await follower.start(standby);
  await follower.caughtUp();
  await new Promise((resume) => setTimeout(resume, 200)); // the standby following a busy primary
  const killed = performance.now();
  child.kill("SIGKILL");
  await exited;
  await follower.promote();
  await standby.append("after-failover", [noted(0)]);
  const ms = performance.now() - killed;
  await standby.close();
  const cleanup: NatsLog = natsLog({ servers, stream });
  await cleanup.open();
  await cleanup.remove();
  await cleanup.close();
  return ms;
}

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string", default: "bench/results" },
    failovers: { type: "string", default: "5" },
    batches: { type: "string", default: "64" },
  },
});
const batches = Number(values.batches);
if (!Number.isInteger(batches) || batches < 1) throw new Error(`--batches: must be a positive integer, got ${values.batches}`);
const quick = values.quick!;
const failovers = quick ? 1 : Number(values.failovers);
if (!Number.isInteger(failovers) || failovers < 1) throw new Error(`--failovers: must be a positive integer, got ${values.failovers}`);
const appends = quick ? 20_000 : 1_000_000;
const runtime = runtimeName();
const version = process.versions[runtime]!;
const directory = temporaryDirectory("eventfold-bench-replication-");
const rows: Row[] = [];
const failoverMs: number[] = [];
const servers = await startCluster(join(directory.path, "cluster"));
const cluster = servers.map((server) => server.url);
let files = 0;
const wal = () => fileStorage(join(directory.path, `wal-${++files}`), { durability: "durable" });
const single = streamName("bench");
try {
  rows.push(await run("durable (local fdatasync)", wal(), appends, batches));
  rows.push(await run("replicated, 1 replica (the machine's NATS)", replicatedStorage(wal(), natsLog({ servers: NATS_URL, stream: single })), appends, batches));
  rows.push(
    await run(
      "replicated, 3 replicas (3-node cluster on loopback)",
      replicatedStorage(wal(), natsLog({ servers: cluster, stream: streamName("bench"), replicas: 3 })),
      appends,
      batches,
    ),
  );
  for (let i = 0; i < failovers; i++) failoverMs.push(await failover(cluster, join(directory.path, `failover-${i}`)));
} finally {
  await Promise.all(servers.map((server) => server.kill()));
  directory.remove();
  // The stream on the machine's server is the benchmark's own: remove it.
  const cleanup = natsLog({ servers: NATS_URL, stream: single });
  await cleanup.open().then(() => cleanup.remove()).catch(() => {});
  await cleanup.close();
}

const durable = rows[0]!.appendsPerSecond;
const sorted = [...failoverMs].sort((a, b) => a - b);
const report = [
  `## Replicated appends: ${runtime} ${version}${quick ? " (quick: figures not worth quoting)" : ""}`,
  "",
  `${new Date().toISOString().slice(0, 10)}; ${appends.toLocaleString("en")} one-event appends by \`enqueue\`, batches of ${BATCH}, ${batches} awaiting their acknowledgement; ack = a batch's first enqueue to its acknowledgement.`,
  "",
  "| mode | appends/s | vs durable | batch ack p50 ms | p99 ms | p99.9 ms |",
  "| --- | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map((row) =>
    `| ${row.mode} | ${formatRate(row.appendsPerSecond)} | ${(row.appendsPerSecond / durable).toFixed(2)}x | ${(row.ack.p50 / 1000).toFixed(1)} | ${
      (row.ack.p99 / 1000).toFixed(1)
    } | ${(row.ack.p999 / 1000).toFixed(1)} |`
  ),
  "",
  `Failover (3-node cluster; a primary process writing \`replicated\` killed by -9, the hot standby promoted, to its first acknowledged append), ${failovers} run(s): median ${
    sorted[sorted.length >> 1]!.toFixed(0)
  } ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms.`,
  "",
].join("\n");
console.log(report);
mkdirSync(values.out!, { recursive: true });
writeFileSync(join(values.out!, `replication-${runtime}.json`), JSON.stringify({ runtime, version, quick, date: new Date().toISOString(), rows, failoverMs }, null, 2) + "\n");
writeFileSync(join(values.out!, `replication-${runtime}.md`), report);
console.log(`wrote ${values.out}/replication-${runtime}.json and .md`);
