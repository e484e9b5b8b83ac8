/**
 * A replicated log on a NATS JetStream stream: one message per batch on the stream's
 * subject, its header naming the term, the primary and the positions; fencing with
 * JetStream's expected last sequence, resends dropped by its message-id deduplication;
 * followers read with an ordered consumer. Client: `@nats-io/transport-node` and
 * `@nats-io/jetstream` (optional peers), on Node, Deno and Bun.
 */
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import {
  DeliverPolicy,
  type JetStreamClient,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type StoredMsg,
} from "@nats-io/jetstream";
import { FencedError, StorageError } from "../../core/errors.ts";
import { checkInteger, checkKeys, invalid } from "../../core/check.ts";
import type { Following, NewBatch, ReplicaBatch, ReplicaLog } from "../../replication/replica-log.ts";
import { type BatchEncoding, deflateBatch, inflateBatch, isBatchEncoding } from "./compression.ts";

/** Options of `natsLog`. */
export interface NatsLogOptions {
  /** NATS server URL(s) (default nats://127.0.0.1:4222). */
  servers?: string | string[];
  /** The JetStream stream holding the log (letters, digits, `-` and `_`); created if missing. */
  stream: string;
  /** Copies JetStream keeps of each batch, 1-5 (default 1; 3 on a three-node cluster). */
  replicas?: number;
  /** Wait this long for a server's answer, and for connecting (default 5000 ms). */
  timeoutMs?: number;
  /** How batches are sent (default `deflate`: about a fifth of the bytes; `none`: the WAL's bytes as they are). Either is read. */
  compression?: BatchEncoding;
}

const TERM = "Eventfold-Term";
const PRIMARY = "Eventfold-Primary";
const FIRST = "Eventfold-First";
const LAST = "Eventfold-Last";
/** `deflate` on a compressed body (absent: the records as they are). */
const ENCODING = "Eventfold-Encoding";
/** A compressed body's length once inflated. */
const LENGTH = "Eventfold-Length";
/** JetStream's error code for a publish whose expected last sequence is not the stream's. */
const WRONG_LAST_SEQUENCE = 10071;
/** The HTTP-like status of JetStream's "temporarily unavailable" (no leader known to the member that answered). */
const CLUSTER_NOT_AVAILABLE = 503;

/** A replicated log on a JetStream stream. Throws ValidationError on bad options. */
export function natsLog(options: NatsLogOptions): NatsLog {
  return new NatsLog(options);
}

/** A replicated log on a JetStream stream (see the module comment). */
export class NatsLog implements ReplicaLog {
  readonly name: string;
  readonly #servers: string[];
  readonly #stream: string;
  readonly #subject: string;
  readonly #replicas: number;
  readonly #timeoutMs: number;
  readonly #compression: BatchEncoding;
  /** Appends publish in the order they were called (each after the one before: fencing), whenever their compression ends. */
  #publishing: Promise<unknown> = Promise.resolve();
  #connection?: NatsConnection;
  #js?: JetStreamClient;
  #jsm?: JetStreamManager;

  /** Use `natsLog`. */
  constructor(options: NatsLogOptions) {
    const what = "NATS log options";
    if (typeof options !== "object" || options === null) invalid(what, "", "must be an object");
    checkKeys(what, options, ["servers", "stream", "replicas", "timeoutMs", "compression"]);
    const servers = options.servers ?? "nats://127.0.0.1:4222";
    this.#servers = typeof servers === "string" ? [servers] : servers;
    if (!Array.isArray(this.#servers) || this.#servers.length === 0 || !this.#servers.every((s) => typeof s === "string" && s.length > 0)) {
      invalid(what, "servers", "must be a URL or a non-empty array of URLs");
    }
    if (typeof options.stream !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(options.stream)) {
      invalid(what, "stream", `must be 1-64 letters, digits, "-" or "_", got ${JSON.stringify(options.stream)}`);
    }
    checkInteger(what, "replicas", options.replicas, 1);
    if ((options.replicas ?? 1) > 5) invalid(what, "replicas", `must be 1-5, got ${options.replicas}`);
    checkInteger(what, "timeoutMs", options.timeoutMs, 1);
    if (options.compression !== undefined && !isBatchEncoding(options.compression)) {
      invalid(what, "compression", `must be "deflate" or "none", got ${JSON.stringify(options.compression)}`);
    }
    this.#compression = options.compression ?? "deflate";
    this.#stream = options.stream;
    this.#subject = `eventfold.${options.stream}`;
    this.#replicas = options.replicas ?? 1;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.name = `nats stream ${options.stream}`;
  }

  async open(): Promise<void> {
    if (this.#connection) return;
    try {
      // Reconnects for ever: a replicated append waits (up to its own bound) for the
      // servers to come back rather than failing the connection for good.
      const connection = await connect({
        servers: this.#servers,
        timeout: this.#timeoutMs,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      });
      this.#connection = connection;
      this.#jsm = await jetstreamManager(connection, { timeout: this.#timeoutMs });
      this.#js = jetstream(connection, { timeout: this.#timeoutMs });
      await this.#ensureStream();
    } catch (error) {
      await this.close().catch(() => {});
      throw this.#error(error, "open");
    }
  }

  async #ensureStream(): Promise<void> {
    const jsm = this.#jsm!;
    try {
      const info = await jsm.streams.info(this.#stream);
      if (!info.config.subjects?.includes(this.#subject)) {
        throw new StorageError(`JetStream stream ${this.#stream} exists without the subject ${this.#subject}: not an eventfold log`);
      }
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
      await jsm.streams.add({
        name: this.#stream,
        subjects: [this.#subject],
        num_replicas: this.#replicas,
        // Resends within two minutes are recognised by their message id.
        duplicate_window: 120_000_000_000,
      });
    }
  }

  /**
   * A message read from the stream's leader. Only the leader answers a message request, or
   * a member that knows of no leader, with an error (503): such a member may be one that
   * was down and has not caught up. A stream-info request would be answered by that member
   * too, from what it held when it went down, and by the time it answers it may already
   * name the leader (NATS 2.9): so the log's end is read as the subject's last message.
   */
  async #leaderMessage(query: { seq: number } | { last_by_subj: string }, doing: string): Promise<StoredMsg | null> {
    const jsm = this.#ready();
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      try {
        return await jsm.streams.getMessage(this.#stream, query);
      } catch (error) {
        if (!(error instanceof JetStreamApiError) || error.status !== CLUSTER_NOT_AVAILABLE) throw this.#error(error, doing);
        if (Date.now() > deadline) throw new StorageError(`${this.name}: no answer from the stream's leader within ${this.#timeoutMs} ms`);
        await new Promise((resume) => setTimeout(resume, 50));
      }
    }
  }

  async last(): Promise<ReplicaBatch | undefined> {
    const message = await this.#leaderMessage({ last_by_subj: this.#subject }, "read the last batch");
    return message === null ? undefined : await this.#batchOf(message);
  }

  async batch(sequence: number): Promise<ReplicaBatch> {
    return await this.#batchOf(await this.#held(sequence));
  }

  async find(position: number): Promise<number | undefined> {
    // Positions are read from the batches' headers: no body is inflated.
    const end = await this.#leaderMessage({ last_by_subj: this.#subject }, "find a position");
    if (end === null || this.#headerNumber(end, LAST) < position) return undefined;
    // Batches' last positions never decrease: search the first one that reaches `position`.
    // Any member's first sequence will do: eventfold never trims the log, and one that was
    // trimmed by hand only ever moves its first sequence up.
    const { state } = await this.#ready().streams.info(this.#stream).catch((error) => {
      throw this.#error(error, "find a position");
    });
    let low = state.first_seq;
    let high = end.seq;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (this.#headerNumber(await this.#held(middle), LAST) >= position) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  async append(batch: NewBatch, after: number): Promise<number> {
    this.#ready();
    const header = headers();
    header.set(TERM, String(batch.term));
    header.set(PRIMARY, batch.primary);
    header.set(FIRST, String(batch.first));
    header.set(LAST, String(batch.last));
    const compress = this.#compression === "deflate" && batch.bytes.length > 0;
    if (compress) {
      header.set(ENCODING, "deflate");
      header.set(LENGTH, String(batch.bytes.length));
    }
    // Compression is asynchronous and may end out of order: publish in call order.
    const body = compress ? deflateBatch(batch.bytes) : batch.bytes;
    const turn = this.#publishing.then(() => body);
    this.#publishing = turn.catch(() => {});
    try {
      const ack = await this.#js!.publish(this.#subject, await turn, {
        msgID: `${batch.term}.${batch.primary}.${batch.first}.${batch.last}`,
        expect: { lastSequence: after },
        headers: header,
        timeout: this.#timeoutMs,
      });
      return ack.seq;
    } catch (error) {
      if ((error as { code?: number }).code === WRONG_LAST_SEQUENCE || /wrong last sequence/i.test((error as Error).message)) {
        const actual = /wrong last sequence: (\d+)/i.exec((error as Error).message)?.[1];
        throw new FencedError(
          `${this.name} refused an append after sequence ${after}${actual === undefined ? "" : ` (its last is ${actual})`}: another primary has written to it`,
          { cause: error },
        );
      }
      throw this.#error(error, `append after sequence ${after}`);
    }
  }

  follow(after: number, onBatch: (batch: ReplicaBatch) => Promise<void> | void): Following {
    const js = this.#js;
    if (!js) throw new StorageError(`${this.name} is not open`);
    let stopped = false;
    let stop: () => void = () => {};
    const done = (async () => {
      const consumer = await js.consumers.get(this.#stream, {
        filter_subjects: this.#subject,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: after + 1,
      });
      const messages = await consumer.consume();
      stop = () => messages.stop();
      if (stopped) messages.stop();
      let expected = after + 1;
      for await (const message of messages) {
        if (stopped) break;
        // Served through a member that is catching up, a consumer can skip a message (seen
        // with NATS 2.9 after a restart, about once in 13 runs of the node-killed scenario,
        // the stream itself whole): the skipped ones are read by sequence, from the leader.
        for (; expected < message.seq && !stopped; expected++) await onBatch(await this.batch(expected));
        if (message.seq < expected) continue; // delivered again
        await onBatch(await this.#batchOf({ seq: message.seq, header: message.headers, data: message.data }));
        expected = message.seq + 1;
      }
    })().catch((error) => {
      throw this.#error(error, "follow");
    });
    return {
      done,
      stop: async () => {
        stopped = true;
        stop();
        await done.catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#js = undefined;
    this.#jsm = undefined;
    await connection?.close();
  }

  /** Removes the stream and everything in it (for tests and tools). */
  async remove(): Promise<void> {
    await this.#ready().streams.delete(this.#stream);
  }

  #ready(): JetStreamManager {
    if (!this.#jsm) throw new StorageError(`${this.name} is not open`);
    return this.#jsm;
  }

  /** The message of batch `sequence`; StorageError if the stream does not hold it. */
  async #held(sequence: number): Promise<StoredMsg> {
    const message = await this.#leaderMessage({ seq: sequence }, `read batch ${sequence}`);
    if (message === null) throw new StorageError(`${this.name} holds no batch ${sequence}`);
    return message;
  }

  /** A number the batch's header carries under `name`; StorageError if it carries none. */
  #headerNumber(message: { seq: number; header?: { get(name: string): string } }, name: string): number {
    const text = message.header?.get(name) ?? "";
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
      throw new StorageError(`${this.name}: message ${message.seq} is not an eventfold batch (header ${name} is ${JSON.stringify(text)})`);
    }
    return value;
  }

  async #batchOf(message: { seq: number; header?: { get(name: string): string }; data: Uint8Array }): Promise<ReplicaBatch> {
    const what = `${this.name}: message ${message.seq}`;
    const number = (name: string) => this.#headerNumber(message, name);
    const encoding = message.header?.get(ENCODING) ?? "";
    if (encoding !== "" && encoding !== "deflate") throw new StorageError(`${what} has an unknown encoding ${JSON.stringify(encoding)}`);
    const bytes = encoding === "deflate" ? await inflateBatch(message.data, number(LENGTH), what) : message.data;
    return { sequence: message.seq, term: number(TERM), primary: message.header?.get(PRIMARY) ?? "", first: number(FIRST), last: number(LAST), bytes };
  }

  #error(error: unknown, doing: string): StorageError {
    if (error instanceof StorageError) return error;
    return new StorageError(`${this.name}: ${doing} failed: ${(error as Error)?.message ?? String(error)} (${this.#servers.join(", ")})`, { cause: error });
  }
}
