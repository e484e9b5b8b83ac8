/**
 * The matching engine under each durability mode, on a pre-generated workload:
 *
 * - throughput: commands flat out; in `durable` mode every batch of 1,000 is acknowledged
 *   only after the fdatasync covering it, with up to 8 batches in flight (matching does not
 *   wait for the disk, acknowledgements do); `sync` awaits every command's own fdatasync;
 * - latency: a second pass times each command's critical path (command in -> events
 *   decided, applied, buffered and enqueued) and, in `durable` mode, each command's
 *   durable acknowledgement (command in -> the covering fdatasync returned);
 * - fixed rate: commands offered on a schedule; both latencies are taken from each
 *   command's intended start, so time spent queued behind a slow command counts
 *   (no coordinated omission); the first tenth warms up unrecorded, and the same loop with
 *   nothing submitted gives the floor this host puts under any figure.
 *
 * Commands go through `submitLent`, the hot path whose result is lent (the loops keep
 * nothing of it but the position): on the file WAL a command makes no objects for its events.
 */
import { fileStorage } from "../../src/adapter/file/index.ts";
import { orderBookCodecs, OrderBookEngine, type Workload } from "../../src/orderbook/index.ts";
import { Pacer } from "./pacer.ts";
import { type Histogram, newHistogram, type Percentiles, percentiles } from "./stats.ts";

export type Mode = "memory" | "async" | "durable" | "sync";

export interface ModeResult {
  mode: Mode;
  workload: string;
  commands: number;
  events: number;
  ordersPerSecond: number;
  criticalPath: Percentiles;
  durableAck?: Percentiles;
}

export interface FixedRateResult {
  offeredPerSecond: number;
  achievedPerSecond: number;
  commands: number;
  criticalPath: Percentiles;
  durableAck: Percentiles;
  /** The same loop at the same rate with nothing submitted. */
  loopAlone: Percentiles;
}

export const ACK_BATCH = 1_000;
/** The fixed-rate runs warm up on this share (1 / n) of their commands. */
const WARM_UP_SHARE = 10;
const ACK_WINDOW = 8;

export async function openEngine(mode: Mode, directory: string, workload: Workload): Promise<OrderBookEngine> {
  const engine = await OrderBookEngine.open({
    instruments: [workload.instrument],
    storage: mode === "memory" ? undefined : fileStorage(directory, { durability: mode, codecs: orderBookCodecs }),
  });
  for (const command of workload.setup) engine.submitValidated(command);
  await engine.durable();
  return engine;
}

const nanos = (milliseconds: number) => Math.max(1, Math.round(milliseconds * 1e6));

/**
 * Durable acknowledgements by batch, read from the WAL's shared durable position, so the
 * loop never has to yield to the event loop to learn that a batch is durable.
 */
export interface DurablePositions {
  readonly durablePosition: number;
  durable(position: number): Promise<void>;
}

export class DurableAcks {
  readonly #store: DurablePositions;
  readonly #starts: Float64Array | undefined;
  readonly #histogram: Histogram | undefined;
  readonly #recordFrom: number;
  readonly #positions: number[] = [];
  readonly #ends: number[] = [];
  #first = 0;
  #acknowledged = 0;
  #failure: unknown;

  /**
   * With `starts` and `histogram`, records each command's latency from its start time
   * (of the commands from index `recordFrom` on).
   */
  constructor(store: DurablePositions, starts?: Float64Array, histogram?: Histogram, recordFrom = 0) {
    this.#store = store;
    this.#starts = starts;
    this.#histogram = histogram;
    this.#recordFrom = recordFrom;
  }

  get acknowledged(): number {
    return this.#acknowledged;
  }

  /** Commands before `end` (exclusive) are covered once `position` is durable. */
  batch(end: number, position: number): void {
    // Asking once per batch makes the writer sync as soon as it has written this far.
    this.#store.durable(position).catch((error) => (this.#failure ??= error));
    this.#positions.push(position);
    this.#ends.push(end);
  }

  poll(): void {
    if (this.#failure !== undefined) throw this.#failure;
    const durable = this.#store.durablePosition;
    while (this.#positions.length > 0 && this.#positions[0] <= durable) {
      this.#positions.shift();
      const end = this.#ends.shift()!;
      if (this.#histogram && this.#starts) {
        const now = performance.now();
        for (let i = Math.max(this.#first, this.#recordFrom); i < end; i++) this.#histogram.recordValue(nanos(now - this.#starts[i]));
      }
      this.#acknowledged += end - this.#first;
      this.#first = end;
    }
  }

  /** Spins until at most `pending` batches are unacknowledged. */
  waitUntilPending(pending: number): void {
    this.poll();
    while (this.#positions.length > pending) this.poll();
  }
}

async function throughputPass(mode: Mode, workload: Workload, directory: string, count: number): Promise<{ seconds: number; events: number }> {
  const engine = await openEngine(mode, `${directory}/throughput`, workload);
  const commands = workload.commands;
  const firstPosition = engine.store.headPosition;
  const started = performance.now();
  if (mode === "sync") {
    for (let i = 0; i < count; i++) await engine.store.durable(engine.submitLent(commands[i]).position);
  } else if (mode === "durable") {
    const acks = new DurableAcks(engine.store);
    for (let i = 0; i < count; i += ACK_BATCH) {
      const end = Math.min(count, i + ACK_BATCH);
      let position = 0;
      for (let j = i; j < end; j++) position = engine.submitLent(commands[j]).position;
      acks.batch(end, position);
      acks.waitUntilPending(ACK_WINDOW - 1);
    }
    acks.waitUntilPending(0);
  } else {
    for (let i = 0; i < count; i++) engine.submitLent(commands[i]);
    await engine.durable();
  }
  const seconds = (performance.now() - started) / 1000;
  const events = engine.store.headPosition - firstPosition;
  await engine.close();
  return { seconds, events };
}

async function latencyPass(mode: Mode, workload: Workload, directory: string, count: number) {
  const engine = await openEngine(mode, `${directory}/latency`, workload);
  const commands = workload.commands;
  const critical = newHistogram();
  const ack = newHistogram();
  const starts = new Float64Array(count);
  const acks = new DurableAcks(engine.store, starts, ack);
  for (let i = 0; i < count; i += ACK_BATCH) {
    const end = Math.min(count, i + ACK_BATCH);
    let position = 0;
    for (let j = i; j < end; j++) {
      const start = performance.now();
      position = engine.submitLent(commands[j]).position;
      critical.recordValue(nanos(performance.now() - start));
      starts[j] = start;
      if (mode === "sync") {
        await engine.store.durable(position);
        ack.recordValue(nanos(performance.now() - start));
      }
    }
    if (mode === "durable") {
      acks.batch(end, position);
      acks.waitUntilPending(ACK_WINDOW - 1);
    }
  }
  if (mode === "durable") acks.waitUntilPending(0);
  await engine.close();
  return { critical: percentiles(critical), ack: mode === "durable" || mode === "sync" ? percentiles(ack) : undefined };
}

/** One mode on one workload: a throughput pass, then a latency pass on a fresh directory. */
export async function benchMode(mode: Mode, workload: Workload, directory: string, limit = Infinity): Promise<ModeResult> {
  const count = Math.min(limit, workload.commands.length);
  const { seconds, events } = await throughputPass(mode, workload, `${directory}/${mode}`, count);
  const latency = await latencyPass(mode, workload, `${directory}/${mode}`, count);
  return {
    mode,
    workload: workload.name,
    commands: count,
    events,
    ordersPerSecond: Math.round(count / seconds),
    criticalPath: latency.critical,
    durableAck: latency.ack,
  };
}

/**
 * The durable engine fed at `rate` commands/s; latencies from each intended start. The
 * first tenth of the commands warms up: offered on the same schedule, not recorded (a new
 * engine's first milliseconds start its writer thread and meet code not yet compiled for
 * it, which a long-running engine pays once).
 */
export async function benchFixedRate(workload: Workload, directory: string, rate: number): Promise<FixedRateResult> {
  const engine = await openEngine("durable", directory, workload);
  const commands = workload.commands;
  const count = commands.length;
  const warmUp = Math.floor(count / WARM_UP_SHARE);
  const critical = newHistogram();
  const ack = newHistogram();
  const intended = new Float64Array(count);
  const acks = new DurableAcks(engine.store, intended, ack, warmUp);
  const pacer = new Pacer(() => acks.poll());
  const interval = 1000 / rate;
  const started = performance.now();
  for (let i = 0; i < count; i += ACK_BATCH) {
    const end = Math.min(count, i + ACK_BATCH);
    let position = 0;
    for (let j = i; j < end; j++) {
      const due = started + j * interval;
      intended[j] = due;
      pacer.waitUntil(due);
      position = engine.submitLent(commands[j]).position;
      if (j >= warmUp) critical.recordValue(nanos(performance.now() - due));
    }
    acks.batch(end, position);
    acks.poll();
  }
  acks.waitUntilPending(0);
  const seconds = (performance.now() - started) / 1000;
  await engine.close();
  return {
    offeredPerSecond: rate,
    achievedPerSecond: Math.round(count / seconds),
    commands: count - warmUp,
    criticalPath: percentiles(critical),
    durableAck: percentiles(ack),
    loopAlone: loopAlone(count, warmUp, rate),
  };
}

/**
 * The fixed-rate loop with nothing to submit: how late the host and the loop alone make a
 * command (a spinning thread here loses time to the hypervisor and to interrupts), the
 * floor under the engine's critical path at the same rate.
 */
function loopAlone(count: number, warmUp: number, rate: number): Percentiles {
  const late = newHistogram();
  const pacer = new Pacer(() => {});
  const interval = 1000 / rate;
  const started = performance.now();
  for (let j = 0; j < count; j++) {
    const due = started + j * interval;
    pacer.waitUntil(due);
    if (j >= warmUp) late.recordValue(nanos(performance.now() - due));
  }
  return percentiles(late);
}
