/**
 * Replication benchmark: the same appends on the file WAL acknowledged `durable` (local
 * fdatasync) and `replicated` (local fdatasync and the JetStream stream's acknowledgement),
 * side by side in one run; then failover time (a primary process killed by -9 to the first
 * command the promoted standby accepts).
 *
 *   node scripts/each-runtime.mjs bench/replication.ts [--quick] [--out DIR] [--failovers N] [--batches N] [--rates R,R]
 *   (npm run bench:replication)
 *
 * Flat out, appends go through the WAL's hot path, `enqueue`, one event each and then 16
 * each, in batches of 1,024 events with `--batches` (default 64) awaiting their
 * acknowledgement, the same for every mode: a replicated acknowledgement takes a network
 * round trip more, so a client that pipelines keeps more in flight (each batch's latency
 * from its first enqueue to its acknowledgement goes into an HDR histogram). `replicated`
 * runs against the machine's NATS (EVENTFOLD_NATS_URL, one replica) and a three-node
 * cluster on loopback started here (three replicas: a quorum of two). The CPU time each
 * event costs is taken too: this process's (caller, WAL writer, zlib) and all nats-server
 * processes' (from /proc), since on one machine they share the cores and the sum bounds
 * the rate.
 *
 * Then the same modes at fixed offered rates (`--rates`, open loop: each append's latency
 * counts from when it was due; the first second is a warm-up, not recorded), which is the
 * acknowledgement latency below saturation. Writes DIR/replication-<runtime>.json and .md.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventStore, type StorageAdapter } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { Follower, natsLog, type NatsLog, replicatedStorage } from "../src/adapter/nats/index.ts";
import { noted, type TestEvent, testEvents } from "../test/support/fixtures.ts";
import { temporaryDirectory } from "../test/support/temp.ts";
import { NATS_URL, startCluster, streamName } from "../test/support/nats.ts";
import { scriptCommand } from "../test/support/runtime.ts";
import { endProgress, formatRate, machine, type Percentiles, progress, runtimeName } from "./lib/stats.ts";
import { enqueueAtRate, enqueueBatches } from "./lib/enqueue.ts";

const BATCH = 1024;
/** Events per append in the flat-out runs: one, and a batch as an application that groups its writes makes. */
const PER_APPEND = [1, 16];
/** Seconds at each fixed rate, after a one-second warm-up. */
const RATED_SECONDS = 4;

interface Row {
  mode: string;
  eventsPerAppend: number;
  events: number;
  eventsPerSecond: number;
  ack: Percentiles;
  /** CPU time per event, ns: this process (all its threads), and all nats-server processes (undefined without /proc). */
  cpu: { client: number; servers: number | undefined };
}

interface RatedRow {
  mode: string;
  offeredPerSecond: number;
  appendsPerSecond: number;
  /** Each append's acknowledgement latency from when it was due. */
  ack: Percentiles;
}

/** CPU ms used so far by every nats-server process (Linux /proc), or undefined where there is none. */
function serversCpuMs(): number | undefined {
  try {
    let ms = 0;
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      } catch {
        continue; // exited meanwhile
      }
      if (!stat.includes("(nats-server)")) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ms += (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in 100 Hz ticks
    }
    return ms;
  } catch {
    return undefined;
  }
}

/** `events` events by `enqueue`, `perAppend` to an append, BATCH events at a time, `batchesInFlight` awaiting their acknowledgement. */
async function run(mode: string, storage: StorageAdapter, events: number, perAppend: number, batchesInFlight: number): Promise<Row> {
  const store = new EventStore({ events: testEvents(), storage });
  await store.open();
  const servers = serversCpuMs();
  const client = process.cpuUsage();
  const appends = events / perAppend;
  const result = await enqueueBatches(store, appends, BATCH / perAppend, batchesInFlight, mode, perAppend);
  const used = process.cpuUsage(client);
  const serversAfter = serversCpuMs();
  await store.close();
  endProgress();
  const cpu = {
    client: Math.round((used.user + used.system) * 1000 / events),
    servers: servers === undefined || serversAfter === undefined ? undefined : Math.round((serversAfter - servers) * 1e6 / events),
  };
  return { mode, eventsPerAppend: perAppend, events, eventsPerSecond: result.appendsPerSecond * perAppend, ack: result.ack, cpu };
}

/** One-event appends offered at `rate` for a warm-up second and RATED_SECONDS more. */
async function runAt(mode: string, storage: StorageAdapter, rate: number, seconds: number): Promise<RatedRow> {
  const store = new EventStore({ events: testEvents(), storage });
  await store.open();
  const warmUp = Math.min(rate, Math.round(rate * seconds / 4));
  const { appendsPerSecond, ack } = await enqueueAtRate(store, warmUp + Math.round(rate * seconds), rate, warmUp);
  await store.close();
  return { mode, offeredPerSecond: rate, appendsPerSecond, ack };
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
    rates: { type: "string", default: "100000,250000" },
  },
});
const batches = Number(values.batches);
if (!Number.isInteger(batches) || batches < 1) throw new Error(`--batches: must be a positive integer, got ${values.batches}`);
const quick = values.quick!;
const failovers = quick ? 1 : Number(values.failovers);
if (!Number.isInteger(failovers) || failovers < 1) throw new Error(`--failovers: must be a positive integer, got ${values.failovers}`);
const rates = quick ? [20_000] : values.rates!.split(",").map(Number);
if (rates.some((rate) => !Number.isInteger(rate) || rate < 1)) throw new Error(`--rates: must be positive integers, got ${values.rates}`);
const ratedSeconds = quick ? 0.5 : RATED_SECONDS;
const events = quick ? 32_768 : 1_048_576;
const runtime = runtimeName();
const version = process.versions[runtime]!;
const directory = temporaryDirectory("eventfold-bench-replication-");
const rows: Row[] = [];
const rated: RatedRow[] = [];
const failoverMs: number[] = [];
const servers = await startCluster(join(directory.path, "cluster"));
const cluster = servers.map((server) => server.url);
let files = 0;
const wal = () => fileStorage(join(directory.path, `wal-${++files}`), { durability: "durable" });
// Streams on the machine's server are the benchmark's own (one per run: a stream keeps its primary's term): removed at the end.
const machineStreams: string[] = [];
const modes: [string, () => StorageAdapter][] = [
  ["durable (local fdatasync)", wal],
  ["replicated, 1 replica (the machine's NATS)", () => {
    machineStreams.push(streamName("bench"));
    return replicatedStorage(wal(), natsLog({ servers: NATS_URL, stream: machineStreams.at(-1)! }));
  }],
  ["replicated, 3 replicas (3-node cluster on loopback)", () => replicatedStorage(wal(), natsLog({ servers: cluster, stream: streamName("bench"), replicas: 3 }))],
];
try {
  for (const perAppend of PER_APPEND) {
    for (const [mode, storage] of modes) rows.push(await run(mode, storage(), events, perAppend, batches));
  }
  for (const rate of rates) {
    for (const [mode, storage] of modes) {
      progress(`${mode} at ${formatRate(rate)}`);
      rated.push(await runAt(mode, storage(), rate, ratedSeconds));
    }
  }
  endProgress();
  for (let i = 0; i < failovers; i++) failoverMs.push(await failover(cluster, join(directory.path, `failover-${i}`)));
} finally {
  await Promise.all(servers.map((server) => server.kill()));
  directory.remove();
  for (const stream of machineStreams) {
    const cleanup = natsLog({ servers: NATS_URL, stream });
    await cleanup.open().then(() => cleanup.remove()).catch(() => {});
    await cleanup.close();
  }
}

const sorted = [...failoverMs].sort((a, b) => a - b);
const ms = (us: number) => (us / 1000).toFixed(1);
const cpuUs = (ns: number | undefined) => ns === undefined ? "n/a" : (ns / 1000).toFixed(2);
/** `durable` with as many events per append as `row`. */
const durableLike = (row: Row) => rows.find((other) => other.eventsPerAppend === row.eventsPerAppend)!.eventsPerSecond;
const report = [
  `## Replicated appends: ${runtime} ${version}${quick ? " (quick: figures not worth quoting)" : ""}`,
  "",
  `${new Date().toISOString().slice(0, 10)}, ${machine()}. Flat out: ${events.toLocaleString("en")} events by \`enqueue\`, one or ${PER_APPEND.at(-1)} to an append, ${BATCH} events awaited at a time with ${batches} such batches awaiting their acknowledgement; ack = a batch's first enqueue to its acknowledgement (at saturation: mostly queueing). CPU per event: this process (caller, WAL writer and zlib threads) and every nats-server process on the machine, which share its cores. The NATS log compresses batches (its default).`,
  "",
  "| mode | events per append | events/s | vs durable | batch ack p50 ms | p99 ms | p99.9 ms | CPU µs/event: this process | nats-servers |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map((row) =>
    `| ${row.mode} | ${row.eventsPerAppend} | ${formatRate(row.eventsPerSecond)} | ${(row.eventsPerSecond / durableLike(row)).toFixed(2)}x | ${ms(row.ack.p50)} | ${ms(row.ack.p99)} | ${
      ms(row.ack.p999)
    } | ${cpuUs(row.cpu.client)} | ${cpuUs(row.cpu.servers)} |`
  ),
  "",
  `At fixed offered rates (open loop, ${ratedSeconds} s after a warm-up; each append's acknowledgement latency from when it was due; the WAL's group-commit window is its default 10 ms, cut short when someone awaits durability):`,
  "",
  "| mode | offered | achieved | ack p50 ms | p99 ms | p99.9 ms | max ms |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rated.map((row) =>
    `| ${row.mode} | ${formatRate(row.offeredPerSecond)} | ${formatRate(row.appendsPerSecond)} | ${ms(row.ack.p50)} | ${ms(row.ack.p99)} | ${ms(row.ack.p999)} | ${
      ms(row.ack.max)
    } |`
  ),
  "",
  `Failover (3-node cluster; a primary process writing \`replicated\` killed by -9, the hot standby promoted, to its first acknowledged append), ${failovers} run(s): median ${
    sorted[sorted.length >> 1]!.toFixed(0)
  } ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms.`,
  "",
].join("\n");
console.log(report);
mkdirSync(values.out!, { recursive: true });
writeFileSync(join(values.out!, `replication-${runtime}.json`), JSON.stringify({ runtime, version, quick, date: new Date().toISOString(), machine: machine(), rows, rated, failoverMs }, null, 2) + "\n");
writeFileSync(join(values.out!, `replication-${runtime}.md`), report);
console.log(`wrote ${values.out}/replication-${runtime}.json and .md`);
