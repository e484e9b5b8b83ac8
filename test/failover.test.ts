/**
 * Failover on a three-node JetStream cluster on loopback (three nats-server processes with
 * routes, started here): a primary process in the `replicated` mode killed by -9 at random
 * points while a standby follows it, the standby promoted, and checks that every acknowledged event is on the new
 * primary, in a log that is a clean prefix-extension of what was written; the old primary
 * restarted is refused. And one NATS node killed during writes: nothing acknowledged is
 * lost. `EVENTFOLD_FAILOVERS` sets the number of kills (5 in `npm test`, 100 in the full
 * run; docs/scale-out.md has the 1,000-kill command).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { EventStore } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { FencedError, Follower, natsLog, type NatsLog, replicatedStorage } from "../src/adapter/nats/index.ts";
import { noted, type TestEvent, testEvents } from "./support/fixtures.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { jetStreamReady, replicasCurrent, startCluster, streamName } from "./support/nats.ts";
import { scriptCommand } from "./support/runtime.ts";
import { sweepSize } from "./support/sweep.ts";

const FAILOVERS = sweepSize("EVENTFOLD_FAILOVERS", 100, 5);

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts the writer process; resolves `acked()` with its highest acknowledged position so far. */
function startWriter(directory: string, servers: string, stream: string) {
  const [command, args] = scriptCommand("test/support/replicated-writer.ts", [directory, servers, stream]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let acked = 0;
  let output = "";
  let firstAck: () => void = () => {};
  const started = new Promise<void>((resolve) => (firstAck = resolve));
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    output += chunk;
    const lines = output.split("\n");
    output = lines.pop()!;
    for (const line of lines) {
      const match = /^acked (\d+)$/.exec(line);
      if (match) {
        acked = Math.max(acked, Number(match[1]));
        firstAck();
      } else if (line) output = `${line}\n${output}`;
    }
  });
  let errors = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => (errors += chunk));
  // Every "acked" line the writer wrote before it died is read before its end counts.
  const drained = new Promise((resolve) => child.stdout.once("close", resolve));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    started,
    exited,
    acked: () => acked,
    output: () => output + errors,
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
      await drained;
    },
  };
}

/** Checks `store`'s log: positions 1..head, each the event the writer made for it. */
async function checkLog(store: EventStore<TestEvent>, acked: number, context: string): Promise<number> {
  const head = store.headPosition;
  assert.ok(head >= acked, `${context}: the new primary ends at ${head}, ${acked} was acknowledged`);
  const versions = new Map<string, number>();
  let position = 0;
  for (const event of await store.readAll()) {
    position++;
    const streamId = `s${(position - 1) % 8}`;
    const version = (versions.get(streamId) ?? 0) + 1;
    versions.set(streamId, version);
    assert.deepEqual(
      [event.position, event.streamId, event.streamVersion, (event.data as { n: number }).n],
      [position, streamId, version, position - 1],
      `${context}: position ${position}`,
    );
  }
  assert.equal(position, head, `${context}: the log has ${position} events, its head is ${head}`);
  return head;
}

test(`failover: ${FAILOVERS} primaries killed by -9 on a three-node JetStream cluster while a standby follows; the promoted standby holds every acknowledged event and the old primary is refused`, async () => {
  const dir = temporaryDirectory();
  const servers = await startCluster(join(dir.path, "cluster"));
  const urls = servers.map((server) => server.url);
  const seed = Number(process.env.EVENTFOLD_SEED ?? Date.now() % 1_000_000);
  const random = seeded(seed);
  let acknowledged = 0;
  // What is running, so a failure stops it (an open WAL or a writer process keeps the run alive).
  let store: EventStore<TestEvent> | undefined;
  let writer: ReturnType<typeof startWriter> | undefined;
  try {
    for (let i = 0; i < FAILOVERS; i++) {
      const context = `failover ${i + 1} of ${FAILOVERS} (EVENTFOLD_SEED=${seed})`;
      const stream = streamName("f");
      const primaryDirectory = join(dir.path, `p${i}`);
      writer = startWriter(primaryDirectory, urls.join(","), stream);
      const started = writer;
      await Promise.race([started.started, started.exited.then((code) => assert.fail(`${context}: the writer exited (${code}): ${started.output()}`))]);
      // The standby follows the primary while it writes, and is promoted when it dies.
      const log = natsLog({ servers: urls, stream, replicas: 3, timeoutMs: 5000 });
      const follower = new Follower<TestEvent>({ log, local: fileStorage(join(dir.path, `s${i}`)), replication: { timeoutMs: 10_000 } });
      store = new EventStore({ events: testEvents(), storage: follower.storage });
      await store.open();
      await follower.start(store);
      await new Promise((resume) => setTimeout(resume, Math.floor(random() * 150)));
      await writer.kill();
      const acked = writer.acked();
      acknowledged += acked;
      await follower.promote();
      const head = await checkLog(store, acked, context);
      // The new primary takes commands, from the next position on.
      const next = await store.append(`s${head % 8}`, [noted(head)]);
      assert.equal(next.position, head + 1, context);

      if (i === 0 || i % 10 === 9) {
        // The old primary, restarted, is refused: the log moved to the standby's term.
        const comeback = startWriter(primaryDirectory, urls.join(","), stream);
        const code = await comeback.exited;
        assert.equal(code, 3, `${context}: the old primary restarted: ${comeback.output()}`);
        assert.match(comeback.output(), /refused FencedError/);
      }
      await store.close();
      store = undefined;
      const cleanup = natsLog({ servers: urls, stream });
      await cleanup.open();
      await cleanup.remove();
      await cleanup.close();
    }
    assert.ok(acknowledged > 0);
  } finally {
    await store?.close().catch(() => {});
    await writer?.kill().catch(() => {});
    await Promise.all(servers.map((server) => server.kill()));
    dir.remove();
  }
});

test("failover: a NATS node killed while a primary writes loses nothing acknowledged; it comes back and catches up", async () => {
  const dir = temporaryDirectory();
  const servers = await startCluster(join(dir.path, "cluster"));
  const urls = servers.map((server) => server.url);
  const stream = streamName("n");
  // Closed in `finally` too: a failure must not leave a WAL (its lock, its writer) keeping the process alive.
  const opened: EventStore<TestEvent>[] = [];
  try {
    const store = new EventStore({
      events: testEvents(),
      storage: replicatedStorage(fileStorage(join(dir.path, "p")), natsLog({ servers: urls, stream, replicas: 3, timeoutMs: 5000 }), {
        timeoutMs: 20_000,
      }),
    });
    await store.open();
    opened.push(store);
    let next = 0;
    let acked = 0;
    let writing = true;
    const lanes = Array.from({ length: 32 }, async () => {
      while (writing) {
        const n = next++;
        const { position } = await store.append(`s${n % 8}`, [noted(n)]);
        acked = Math.max(acked, position);
      }
    });
    while (acked < 500) await new Promise((resume) => setTimeout(resume, 10));
    await servers[1]!.kill();
    const before = acked;
    while (acked < before + 2000) await new Promise((resume) => setTimeout(resume, 10));
    await servers[1]!.start();
    // The node is back once its JetStream answers (it catches up with the others first).
    await jetStreamReady([urls[1]!]);
    writing = false;
    await Promise.all(lanes);
    assert.ok(acked >= before + 2000);
    // ... and has caught up: until then it answers reads from what it held when it was killed.
    await replicasCurrent([urls[0]!, urls[2]!], stream);

    // A standby reading through the node that was down holds everything acknowledged.
    const follower = new Follower<TestEvent>({ log: natsLog({ servers: [urls[1]!], stream, timeoutMs: 10_000 }), local: fileStorage(join(dir.path, "s")) });
    const standby = new EventStore({ events: testEvents(), storage: follower.storage });
    await standby.open();
    opened.push(standby);
    await follower.start(standby);
    await follower.caughtUp();
    await checkLog(standby, acked, "after a node was killed");
    await follower.stop();
  } finally {
    for (const store of opened) await store.close().catch(() => {});
    await Promise.all(servers.map((server) => server.kill()));
    dir.remove();
  }
});

test("failover: the log's end read through a restarted member that has not caught up is still the leader's", async () => {
  const dir = temporaryDirectory();
  const servers = await startCluster(join(dir.path, "cluster"));
  const urls = servers.map((server) => server.url);
  const stream = streamName("stale");
  const marker = (n: number) => ({ term: 1, primary: "p", first: n + 1, last: n, bytes: new Uint8Array(0) });
  /** Appends batches after..to-1 through `log`, retrying while the cluster elects a leader. */
  const appendUpTo = async (log: NatsLog, from: number, to: number) => {
    for (let after = from; after < to; after++) {
      for (let attempt = 0;; attempt++) {
        try {
          await log.append(marker(after), after);
          break;
        } catch (error) {
          // A retry of a batch that did land is refused as out of sequence: it is there.
          if (error instanceof FencedError && (await log.last())?.sequence === after + 1) break;
          if (attempt > 100) throw error;
          await new Promise((resume) => setTimeout(resume, 100));
        }
      }
    }
  };
  const logs: NatsLog[] = [];
  /** A log on `servers`, opened once the cluster answers (it elects a new leader after a kill). */
  const open = async (servers: string[]) => {
    for (let attempt = 0;; attempt++) {
      const log = natsLog({ servers, stream, replicas: 3, timeoutMs: 2000 });
      logs.push(log);
      try {
        await log.open();
        return log;
      } catch (error) {
        if (attempt > 20) throw error;
      }
    }
  };
  try {
    const first = await open(urls);
    await appendUpTo(first, 0, 100);
    // Take the stream's leader down, append more through the other two, bring it back.
    const connection = await connect({ servers: urls });
    const { cluster } = await (await jetstreamManager(connection)).streams.info(stream);
    await connection.close();
    const down = urls.indexOf(servers.find((server) => server.name === cluster?.leader)!.url);
    await first.close();
    await servers[down]!.kill();
    const others = await open(urls.filter((_, i) => i !== down));
    await appendUpTo(others, 100, 1100);
    await servers[down]!.start();
    await jetStreamReady([urls[down]!]);
    // Until it catches up, the restarted member also answers, from what it held (100 batches):
    // seen here from about half a second after it is back.
    const reader = await open([urls[down]!]);
    for (let i = 0; i < 40; i++) {
      assert.equal((await reader.last())?.sequence, 1100, `read ${i}`);
      await new Promise((resume) => setTimeout(resume, 50));
    }
    // The batch of sequence s holds no records and ends at position s - 1.
    assert.equal(await reader.find(1099), 1100);
    assert.equal(await reader.find(1100), undefined);
  } finally {
    for (const log of logs) await log.close().catch(() => {});
    await Promise.all(servers.map((server) => server.kill()));
    dir.remove();
  }
});
