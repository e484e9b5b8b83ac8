/**
 * The WAL, replicated: a primary's `replicated` durability mode. Appends go to the local
 * WAL as always (same hot path); once a group is durable on disk, it is taken as the WAL
 * encoded it (from the ring, where the WAL keeps it for this: WalStorage.keepEncoded) and
 * sent to the replicated log, one batch per message (up to `maxBatchBytes`, whole appends
 * only), several in flight, each appended only after the one before it (fencing).
 * `whenDurable(p)` resolves when the log holds position p too.
 *
 * The log down or slow: appends still go to the local WAL (it keeps working), their
 * acknowledgements wait, and reject after `timeoutMs` with a StorageError saying so;
 * sending resumes from the log's last batch when it answers again. Nothing is
 * acknowledged that the log does not hold. Another primary appended (fencing) or claimed a
 * newer term: this one is deposed, fails with FencedError and writes no more.
 *
 * Terms: a primary claims a term when it starts on an empty log, or when a follower is
 * promoted (the last term + 1), by appending a marker batch; it keeps the term and its
 * own random id beside its WAL (WalStorage.writeTerm) first. Restarting, a primary
 * resumes only if the log's last batch is of its own term and id, and its own log holds
 * everything the replicated one does.
 */
import { ClosedError, FencedError, StorageError } from "../core/errors.ts";
import { checkInteger, checkKeys } from "../core/check.ts";
import type { StoredRecord } from "../core/events.ts";
import type { HeldRecords } from "../core/event-buffer.ts";
import type { IndexCheckpoint, RecordReporter, StorageAdapter } from "../core/storage.ts";
import type { SnapshotStore } from "../core/snapshots.ts";
import type { ConsumerStore } from "../core/consumer-store.ts";
import type { Observer, StorageStats } from "../core/observer.ts";
import type { ReplicationTerm, WalStorage } from "../wal/wal-storage.ts";
import { paddedLength, recordContinues } from "../wal/record-format.ts";
import type { ReplicaBatch, ReplicaLog } from "./replica-log.ts";

/** Options of replicated storage. */
export interface ReplicationOptions {
  /** How long an append waits for the log before its acknowledgement rejects (default 5000 ms). */
  timeoutMs?: number;
  /** The largest batch sent as one message (default 512 KiB; NATS' default max_payload is 1 MiB). */
  maxBatchBytes?: number;
  /** Batches sent and not yet acknowledged, at most (default 8). */
  inFlight?: number;
}

/** Events under which a batch waits for the one in flight rather than follow it at once. */
const LINGER_EVENTS = 256;

interface Waiter {
  position: number;
  resolve(): void;
  reject(error: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

/** A local WAL whose appends are acknowledged once a replicated log holds them too. */
export function replicatedStorage(local: WalStorage, log: ReplicaLog, options: ReplicationOptions = {}): ReplicatedStorage {
  return new ReplicatedStorage(local, log, options, "primary");
}

/** See the module comment. */
export class ReplicatedStorage implements StorageAdapter {
  readonly name: string;
  readonly durability = "replicated" as const;
  readonly snapshots: SnapshotStore;
  readonly consumers: ConsumerStore;
  /** The local WAL. */
  readonly local: WalStorage;
  /** The replicated log. */
  readonly log: ReplicaLog;
  readonly #timeoutMs: number;
  readonly #maxBatchBytes: number;
  readonly #maxInFlight: number;
  #role: "primary" | "follower";
  #applying = false;
  #term: ReplicationTerm = { term: 0, id: "" };
  #head = 0;
  /** Highest position the log holds (acknowledged). */
  #replicated = 0;
  /** Highest position sent. */
  #sent = 0;
  /** The log's sequence the next batch must follow. */
  #after = 0;
  readonly #inFlight = new Set<Promise<boolean>>();
  #waiters: Waiter[] = [];
  #pumping?: Promise<void>;
  /** A send failed: find where the log is before sending more. */
  #broken?: unknown;
  #failure?: Error;
  #closed = false;

  /** Use `replicatedStorage` (a primary) or a `Follower`. */
  constructor(local: WalStorage, log: ReplicaLog, options: ReplicationOptions, role: "primary" | "follower") {
    const what = "replication options";
    checkKeys(what, options, ["timeoutMs", "maxBatchBytes", "inFlight"]);
    checkInteger(what, "timeoutMs", options.timeoutMs, 1);
    checkInteger(what, "maxBatchBytes", options.maxBatchBytes, 1024);
    checkInteger(what, "inFlight", options.inFlight, 1);
    this.local = local;
    this.log = log;
    this.snapshots = local.snapshots;
    this.consumers = local.consumers;
    this.name = `replicated WAL (${log.name})`;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
    this.#maxInFlight = options.inFlight ?? 8;
    this.#role = role;
  }

  /** `primary` (appends are replicated) or `follower` (appends come from the log only). */
  get role(): "primary" | "follower" {
    return this.#role;
  }

  /** The term this storage writes under (0 for a follower that never was a primary). */
  get term(): ReplicationTerm {
    return { ...this.#term };
  }

  async open(onRecord: RecordReporter, onCheckpoint?: (checkpoint: IndexCheckpoint) => boolean): Promise<void> {
    await this.local.open((streamId, streamVersion, position, marker) => {
      onRecord(streamId, streamVersion, position, marker);
      this.#head = position;
    }, onCheckpoint && ((checkpoint) => onCheckpoint(checkpoint) && (this.#head = checkpoint.position, true)));
    try {
      await this.log.open();
      if (this.#role === "primary") await this.#resume();
    } catch (error) {
      await this.log.close().catch(() => {});
      await this.local.close().catch(() => {});
      throw error;
    }
  }

  /** A primary starting: resume its own term, or claim the first one of an empty log. */
  async #resume(): Promise<void> {
    const mine = this.local.readTerm();
    const last = await this.log.last();
    if (last === undefined) return await this.#claim({ term: Math.max(1, mine.term + 1), id: newId() }, undefined);
    if (last.term > mine.term || (last.term === mine.term && last.primary !== mine.id)) {
      throw new FencedError(
        `${this.log.name} is at term ${last.term} (primary ${last.primary}); this log last wrote under ` +
          `${mine.term === 0 ? "no term" : `term ${mine.term} (primary ${mine.id})`}: it was deposed, or never was the primary; start it as a follower`,
      );
    }
    if (last.term < mine.term) return await this.#claim(mine, last); // our claim never reached the log
    await this.#checkHolds(last);
    this.#term = mine;
    this.#replicated = this.#sent = last.last;
    this.#after = last.sequence;
    this.local.keepEncoded();
    this.#kick(); // what was durable here but not sent before a crash (read from the files)
  }

  /** Refuses to go on unless this log holds everything the replicated log does, identical. */
  async #checkHolds(last: ReplicaBatch): Promise<void> {
    if (last.last > this.#head) {
      throw new StorageError(`${this.log.name} holds positions up to ${last.last}, this log only up to ${this.#head}: it cannot be the primary`);
    }
    if (last.bytes.length === 0) return;
    if (!await sameRecord(this.local, last, last.last)) {
      throw new StorageError(`this log and ${this.log.name} differ at position ${last.last}: it cannot be the primary`);
    }
  }

  /** Writes under `term` from now on: kept beside the WAL first, then the marker appended after `last`. */
  async #claim(term: ReplicationTerm, last: ReplicaBatch | undefined): Promise<void> {
    const position = last?.last ?? 0;
    this.local.writeTerm(term);
    this.local.keepEncoded();
    this.#term = term;
    const sequence = await this.log.append(
      { term: term.term, primary: term.id, first: position + 1, last: position, bytes: new Uint8Array(0) },
      last?.sequence ?? 0,
    );
    this.#replicated = this.#sent = position;
    this.#after = sequence;
    this.#kick();
  }

  /**
   * Makes a follower the primary: claims the term after `last` (the log's last batch,
   * which this storage's log must already hold). Rejects with FencedError if another
   * batch was appended after it meanwhile.
   */
  async promote(last: ReplicaBatch | undefined): Promise<void> {
    if (this.#role === "primary") throw new StorageError("this storage is the primary already");
    if (last !== undefined) await this.#checkHolds(last);
    if ((last?.last ?? 0) !== this.#head) {
      throw new StorageError(`this log has positions up to ${this.#head}, ${this.log.name} up to ${last?.last ?? 0}: it cannot be promoted`);
    }
    this.#role = "primary";
    try {
      await this.#claim({ term: (last?.term ?? 0) + 1, id: newId() }, last);
    } catch (error) {
      this.#role = "follower";
      throw error;
    }
  }

  /** Runs `apply` with the follower's appends allowed (Follower: the log's records). */
  applying<T>(apply: () => T): T {
    this.#applying = true;
    try {
      return apply();
    } finally {
      this.#applying = false;
    }
  }

  append(records: readonly StoredRecord[]): void {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new ClosedError(this.name);
    if (this.#role === "follower" && !this.#applying) {
      throw new StorageError(`this store follows ${this.log.name}: it takes appends from the log only until promoted`);
    }
    this.local.append(records);
    if (records.length > 0) this.#head = records[records.length - 1]!.position;
    if (this.#role === "primary") this.#kick();
  }

  #kick(): void {
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = undefined;
      if (this.#role === "primary" && !this.#failure && (this.#broken !== undefined || this.#head > this.#sent)) this.#kick();
    });
  }

  /** Sends what the local WAL made durable, batch by batch; finds the log again after a failed send. */
  async #pump(): Promise<void> {
    let pause = 100;
    while (!this.#failure && !this.#closed) {
      if (this.#broken !== undefined) {
        await Promise.allSettled(this.#inFlight);
        try {
          await this.#rejoin();
          this.#broken = undefined;
          pause = 100;
        } catch (error) {
          if (error instanceof FencedError) return this.#fail(error);
          this.#broken = error;
          await new Promise((resume) => setTimeout(resume, pause));
          pause = Math.min(pause * 2, 2000);
          continue;
        }
      }
      const target = this.#head;
      if (target <= this.#sent) return;
      try {
        await this.local.whenDurable(target);
        if (target - this.#sent < LINGER_EVENTS && this.#inFlight.size > 0) {
          // Nagle's rule: while a batch is in flight, a small one waits for it, growing
          // meanwhile. A message costs the servers about as much as a large one, and at a
          // modest rate every group commit made its own.
          await Promise.race(this.#inFlight);
          continue;
        }
        const bytes = await this.local.takeEncoded(this.#sent + 1, target);
        const acknowledged: Promise<boolean>[] = [];
        let complete = true;
        for (const batch of batches(bytes, this.#sent + 1, this.#maxBatchBytes)) {
          while (this.#inFlight.size >= this.#maxInFlight) await Promise.race(this.#inFlight);
          if (this.#broken !== undefined || this.#failure) {
            complete = false;
            break;
          }
          acknowledged.push(this.#send(batch));
        }
        // The log was lent the bytes until it acknowledged them (ReplicaLog.append); after a
        // failed send, it may still hold them (a client buffering them until it reconnects).
        if (complete) void Promise.all(acknowledged).then((all) => all.every(Boolean) && this.local.giveBackEncoded(bytes));
      } catch (error) {
        // The local WAL failed (fail-stop): nothing more can be acknowledged.
        return this.#fail(error as Error);
      }
    }
  }

  /** Sends `batch`; the promise says whether the log acknowledged it (a failure is dealt with here). */
  #send(batch: { first: number; last: number; bytes: Uint8Array }): Promise<boolean> {
    const after = this.#after++;
    this.#sent = batch.last;
    const sent: Promise<boolean> = this.log.append({ term: this.#term.term, primary: this.#term.id, ...batch }, after).then(
      () => {
        // Batches are acknowledged in order: each was appended only after the one before.
        this.#replicated = Math.max(this.#replicated, batch.last);
        this.#settle();
        return true;
      },
      (error) => {
        this.#broken ??= error;
        this.#kick();
        return false;
      },
    ).finally(() => this.#inFlight.delete(sent));
    this.#inFlight.add(sent);
    return sent;
  }

  /** After a failed send: the log's last batch says what it holds; another primary's means we were deposed. */
  async #rejoin(): Promise<void> {
    const last = await this.log.last();
    if (last === undefined || last.term !== this.#term.term || last.primary !== this.#term.id) {
      throw new FencedError(
        `${this.log.name} is at term ${last?.term ?? 0} (primary ${last?.primary ?? "none"}); this primary writes under term ` +
          `${this.#term.term} (${this.#term.id}): it was deposed`,
      );
    }
    this.#replicated = Math.max(this.#replicated, last.last);
    this.#sent = last.last;
    this.#after = last.sequence;
    this.#settle();
  }

  /** The local WAL's gauges. */
  stats(): StorageStats {
    return this.local.stats();
  }

  keepRecent(count: number): HeldRecords<StoredRecord> {
    return this.local.keepRecent(count);
  }

  /** The local WAL's groups (each fdatasync; replication adds its own wait on top). */
  observe(observer: Observer): void {
    this.local.observe(observer);
  }

  durablePosition(): number {
    return this.#role === "primary" ? this.#replicated : this.local.durablePosition();
  }

  whenDurable(position: number): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#role === "follower") return this.local.whenDurable(position);
    if (position <= this.#replicated) return Promise.resolve();
    if (position > this.#head) {
      return Promise.reject(new StorageError(`position ${position} is past the end of the log (${this.#head})`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        position,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          const why = this.#broken === undefined ? "" : `: ${(this.#broken as Error)?.message ?? String(this.#broken)}`;
          reject(
            new StorageError(
              `position ${position} was not replicated to ${this.log.name} within ${this.#timeoutMs} ms (it holds up to ` +
                `${this.#replicated}${why}); it is durable here and is sent when the log answers`,
            ),
          );
        }, this.#timeoutMs),
      };
      let at = this.#waiters.length;
      while (at > 0 && this.#waiters[at - 1]!.position > position) at--;
      this.#waiters.splice(at, 0, waiter);
    });
  }

  #settle(): void {
    let settled = 0;
    while (settled < this.#waiters.length && this.#waiters[settled]!.position <= this.#replicated) {
      const waiter = this.#waiters[settled++]!;
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    if (settled > 0) this.#waiters.splice(0, settled);
  }

  /** Stops replicating with `error` (fenced, or the local WAL failed): everything waiting rejects with it. */
  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(this.#failure);
    }
  }

  /** Why this storage stopped replicating, if it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  read(from: number, to: number): Promise<StoredRecord[]> {
    return this.local.read(from, to);
  }

  readEach(from: number, to: number, visit: (record: StoredRecord) => void): Promise<void> {
    return this.local.readEach(from, to, visit);
  }

  /** Keeps the store's index checkpoint in the local WAL (a fast open of a large log). */
  saveCheckpoint(checkpoint: IndexCheckpoint): Promise<void> {
    return this.local.saveCheckpoint(checkpoint);
  }

  /** Sends what is left (up to `timeoutMs`), then closes the local WAL and the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#role === "primary" && !this.#failure && this.#head > this.#replicated) {
      await this.whenDurable(this.#head).catch(() => {});
    }
    this.#closed = true;
    await this.#pumping?.catch(() => {});
    await Promise.allSettled(this.#inFlight);
    this.#fail(new ClosedError(this.name));
    try {
      await this.local.close();
    } finally {
      await this.log.close();
    }
  }
}

/** The records `bytes` (from position `first` on) cut into batches of whole appends, each at most `max` bytes if it can be. */
function* batches(bytes: Uint8Array, first: number, max: number): Generator<{ first: number; last: number; bytes: Uint8Array }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  let startPosition = first;
  let cut = 0; // end of the last whole append so far
  let cutPosition = first - 1;
  let position = first;
  for (let offset = 0; offset < bytes.length; position++) {
    const end = offset + paddedLength(view.getUint32(offset + 4, true));
    const whole = !recordContinues(view, offset);
    if (end - start > max && cut > start) {
      yield { first: startPosition, last: cutPosition, bytes: bytes.subarray(start, cut) };
      start = cut;
      startPosition = cutPosition + 1;
    }
    if (whole) {
      cut = end;
      cutPosition = position;
    }
    offset = end;
  }
  if (cut > start) yield { first: startPosition, last: cutPosition, bytes: bytes.subarray(start, cut) };
}

/** The record at `position` in a batch's bytes (as the WAL encodes it). */
export function recordIn(batch: ReplicaBatch, position: number): Uint8Array {
  const bytes = batch.bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (let p = batch.first; offset < bytes.length; p++) {
    const end = offset + paddedLength(view.getUint32(offset + 4, true));
    if (p === position) return bytes.subarray(offset, end);
    offset = end;
  }
  throw new StorageError(`batch ${batch.sequence} holds no position ${position}`);
}

/** Whether the local WAL's record at `position` is byte for byte the batch's. */
export async function sameRecord(local: WalStorage, batch: ReplicaBatch, position: number): Promise<boolean> {
  const theirs = recordIn(batch, position);
  await local.whenDurable(position); // a follower's WAL writes what it applied in the background
  const ours = await local.readEncoded(position, position);
  return theirs.length === ours.length && theirs.every((byte, i) => byte === ours[i]);
}

/** A primary's id: random, so two claims of one term are told apart. */
function newId(): string {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
