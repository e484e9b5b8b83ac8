/**
 * NATS for the replication tests: the machine's server (EVENTFOLD_NATS_URL, default
 * nats://127.0.0.1:4222) with a fresh stream per test, and throwaway `nats-server -js`
 * processes (one, or three clustered on loopback) that a test can kill and restart.
 */
import process from "node:process";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { natsLog, type NatsLog, type NatsLogOptions } from "../../src/adapter/nats/index.ts";

export const NATS_URL = process.env.EVENTFOLD_NATS_URL ?? "nats://127.0.0.1:4222";

/** A stream name no other test (or run) uses. */
export function streamName(prefix = "t"): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** A log on a fresh stream of the machine's server. */
export function freshLog(options: Partial<NatsLogOptions> = {}): NatsLog {
  return natsLog({ servers: NATS_URL, stream: streamName(), timeoutMs: 2000, ...options });
}

/** Removes `log`'s stream (opening the log for it if needed). */
export async function removeStream(log: NatsLog): Promise<void> {
  await log.open();
  await log.remove();
  await log.close();
}

/** The nats-server executable: on the PATH, or Debian's. */
export function natsServerPath(): string {
  const found = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).stdout.trim();
  if (found) return found;
  if (existsSync("/usr/sbin/nats-server")) return "/usr/sbin/nats-server";
  throw new Error("nats-server is not installed (apt-get install nats-server)");
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** `count` distinct free TCP ports on loopback (held open together while they are found, so none repeats). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(servers.map((server) =>
      new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
      })
    ));
  } finally {
    await Promise.all(servers.map((server) => new Promise((closed) => server.listening ? server.close(closed) : closed(undefined))));
  }
}

/** Resolves once something accepts connections on `port`, or rejects after `ms`. */
export async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => (socket.destroy(), resolve(false)));
      socket.connect(port, "127.0.0.1");
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${ms} ms`);
    await new Promise((resume) => setTimeout(resume, 50));
  }
}

/** One nats-server with JetStream, its data in `directory` (kept across restarts). */
export class NatsServer {
  #child?: ChildProcess;
  constructor(readonly name: string, readonly port: number, readonly directory: string, readonly cluster?: { port: number; routes: number[] }) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.directory, { recursive: true });
    const config = join(this.directory, "server.conf");
    const lines = [
      `server_name: ${this.name}`,
      `listen: 127.0.0.1:${this.port}`,
      `jetstream { store_dir: "${join(this.directory, "store")}" }`,
    ];
    if (this.cluster) {
      lines.push(
        `cluster { name: eventfold_test, listen: 127.0.0.1:${this.cluster.port}, routes: [${
          this.cluster.routes.map((port) => `nats-route://127.0.0.1:${port}`).join(", ")
        }] }`,
      );
    }
    writeFileSync(config, lines.join("\n") + "\n");
    this.#child = spawn(natsServerPath(), ["-c", config], { stdio: "ignore" });
    await waitForPort(this.port);
  }

  /** kill -9. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
}

/** Three clustered servers on loopback (a JetStream quorum of 2). */
export async function startCluster(directory: string): Promise<NatsServer[]> {
  const ports = await freePorts(6);
  const clients = ports.slice(0, 3);
  const routes = ports.slice(3);
  const servers = clients.map((port, i) =>
    new NatsServer(`n${i}`, port, join(directory, `n${i}`), { port: routes[i]!, routes: routes.filter((_, j) => j !== i) })
  );
  try {
    await Promise.all(servers.map((server) => server.start()));
    await jetStreamReady(servers.map((server) => server.url), 30_000, 3);
  } catch (error) {
    await Promise.all(servers.map((server) => server.kill())); // none left running behind a failed start
    throw error;
  }
  return servers;
}

/**
 * Resolves once JetStream answers at `servers` (a new cluster first elects its meta leader)
 * and, with `replicas` > 1, can place a stream of that many replicas: the meta leader
 * answers before it knows its peers, and a stream made then fails with "no suitable peers
 * for placement". A probe stream is made and removed.
 */
export async function jetStreamReady(servers: string[], ms = 30_000, replicas = 1): Promise<void> {
  const deadline = Date.now() + ms;
  const connection = await connect({ servers, timeout: 5000 });
  try {
    for (;;) {
      try {
        const jsm = await jetstreamManager(connection, { timeout: 1000 });
        await jsm.getAccountInfo();
        if (replicas > 1) {
          const name = `ready_${process.pid}_${Date.now()}`;
          await jsm.streams.add({ name, subjects: [`${name}.>`], num_replicas: replicas });
          await jsm.streams.delete(name);
        }
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`JetStream at ${servers.join(", ")} is not ready after ${ms} ms: ${(error as Error).message}`);
        await new Promise((resume) => setTimeout(resume, 200));
      }
    }
  } finally {
    await connection.close();
  }
}

/**
 * Resolves once every replica of `stream` is current (none offline, none lagging), as its
 * leader reports through `servers`: a node that was down and came back answers from its
 * own, older state until it has caught up.
 */
export async function replicasCurrent(servers: string[], stream: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  const connection = await connect({ servers, timeout: 5000 });
  try {
    const jsm = await jetstreamManager(connection, { timeout: 2000 });
    for (;;) {
      const info = await jsm.streams.info(stream).catch(() => undefined);
      const replicas = info?.cluster?.replicas ?? [];
      if (info && replicas.length > 0 && replicas.every((replica) => replica.current && !replica.offline && !replica.lag)) return;
      if (Date.now() > deadline) throw new Error(`the replicas of ${stream} are not current after ${ms} ms: ${JSON.stringify(info?.cluster)}`);
      await new Promise((resume) => setTimeout(resume, 100));
    }
  } finally {
    await connection.close();
  }
}
