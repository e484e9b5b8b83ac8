/**
 * `eventfold follow` and `eventfold promote`: a standby WAL kept up to date from a replicated
 * log on NATS JetStream, and taking it over after the primary died; `eventfold shard` and
 * `eventfold submit`: an exchange process serving some symbols, and the router's side
 * (docs/scale-out.md).
 * They copy records (checked by their CRC32C, numbered by the log) and need no event types;
 * data in a binary codec other than the order book's is not decoded here.
 * Loaded only when used, so the rest of the CLI works without the NATS client installed.
 */
import process from "node:process";
import type { StoredRecord } from "../core/events.ts";
import { fileStorage } from "../adapter/file/index.ts";
import { type BatchEncoding, Follower, natsLog, type ReplicaTarget, replicatedStorage, Router, serveShard } from "../adapter/nats/index.ts";
import { orderBookCodecs } from "../orderbook/codecs.ts";
import { OrderBookEngine } from "../orderbook/engine.ts";
import type { Output } from "./output.ts";

/** Where the replicated log is. */
export interface ReplicaOptions {
  servers: string[];
  stream: string;
  replicas?: number;
}

/** A follower copying the log into the WAL in `directory` (opened). */
async function openCopy(directory: string, options: ReplicaOptions): Promise<{ follower: Follower; target: ReplicaTarget }> {
  const follower = new Follower({
    log: natsLog({ servers: options.servers, stream: options.stream, replicas: options.replicas }),
    local: fileStorage(directory, { codecs: orderBookCodecs }),
  });
  let head = 0;
  await follower.storage.open((_streamId, _version, position) => (head = position));
  const target: ReplicaTarget = {
    storage: follower.storage,
    get headPosition() {
      return head;
    },
    appendReplicated(records: readonly StoredRecord[]) {
      follower.storage.append(records);
      head = records[records.length - 1]?.position ?? head;
    },
  };
  return { follower, target };
}

/** Follows the log into `directory` until SIGINT or SIGTERM, printing where it is. */
export async function follow(directory: string, options: ReplicaOptions, out: Output): Promise<number> {
  const { follower, target } = await openCopy(directory, options);
  try {
    await follower.start(target);
    await follower.caughtUp();
    out.line(`following ${follower.log.name} into ${directory}: caught up at position ${target.headPosition} (batch ${follower.appliedSequence})`);
    await new Promise<void>((resolve) => {
      const report = setInterval(() => out.progress(`position ${target.headPosition}, batch ${follower.appliedSequence}`), 1000);
      const stop = () => {
        clearInterval(report);
        resolve();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    out.endProgress();
    await follower.stop();
    out.line(`stopped at position ${target.headPosition} (batch ${follower.appliedSequence})`);
    return 0;
  } finally {
    await follower.storage.close();
  }
}

/**
 * Catches the WAL in `directory` up with the log and claims the next term for it: the old
 * primary is fenced, and a primary started on `directory` (replicatedStorage) resumes
 * this term from the next position.
 */
export async function promote(directory: string, options: ReplicaOptions, out: Output): Promise<number> {
  const { follower, target } = await openCopy(directory, options);
  try {
    await follower.start(target);
    await follower.promote();
    const { term, id } = follower.storage.term;
    out.line(`promoted: ${directory} is the primary of ${follower.log.name}, term ${term} (primary ${id}), at position ${target.headPosition}`);
    out.line("start the application on this directory with replicatedStorage: it resumes this term");
    return 0;
  } finally {
    await follower.storage.close();
  }
}

/** Where a shard keeps its log and whom it serves. */
export interface ShardCommandOptions {
  servers: string[];
  exchange: string;
  symbols: string[];
  stream: string;
  replicas?: number;
  /** How batches go to the stream (default deflate). */
  compression?: BatchEncoding;
  tickSize: number;
  lotSize: number;
}

/**
 * Runs an exchange shard until SIGINT or SIGTERM: an order-book engine for `symbols` on the
 * WAL in `directory`, replicated to `stream`, serving the symbols' command subjects.
 */
export async function shard(directory: string, options: ShardCommandOptions, out: Output): Promise<number> {
  const engine = await OrderBookEngine.open({
    instruments: options.symbols.map((symbol) => ({ symbol, tickSize: options.tickSize, lotSize: options.lotSize })),
    storage: replicatedStorage(
      fileStorage(directory, { codecs: orderBookCodecs }),
      natsLog({ servers: options.servers, stream: options.stream, replicas: options.replicas, compression: options.compression }),
    ),
  });
  try {
    const served = await serveShard({ servers: options.servers, exchange: options.exchange, engine });
    out.line(`serving ${served.symbols.join(",")} of exchange ${options.exchange} (log: stream ${options.stream}, position ${engine.store.headPosition})`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await served.close();
    out.line(`stopped at position ${engine.store.headPosition}`);
    return 0;
  } finally {
    await engine.close();
  }
}

/** Sends order commands (JSON objects, each naming its symbol) to their shards; prints each outcome as a JSON line. */
export async function submit(commands: string[], options: { servers: string[]; exchange: string }, out: Output): Promise<number> {
  const router = await Router.connect({ servers: options.servers, exchange: options.exchange });
  try {
    const outcomes = await router.submit(commands.map((text) => JSON.parse(text)));
    for (const outcome of outcomes) out.line(JSON.stringify(outcome));
    return outcomes.every((outcome) => outcome.ok) ? 0 : 1;
  } finally {
    await router.close();
  }
}
