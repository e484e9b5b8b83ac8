/**
 * `eventfold follow` and `eventfold promote`: a standby WAL kept up to date from a replicated
 * log on NATS JetStream, and taking it over after the primary died (docs/scale-out.md).
 * They copy records (checked by their CRC32C, numbered by the log) and need no event types;
 * data in a binary codec other than the order book's is not decoded here.
 * Loaded only when used, so the rest of the CLI works without the NATS client installed.
 */
import process from "node:process";
import type { StoredRecord } from "../core/events.ts";
import { fileStorage } from "../adapter/file/index.ts";
import { Follower, natsLog, type ReplicaTarget } from "../adapter/nats/index.ts";
import { orderBookCodecs } from "../orderbook/codecs.ts";
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
