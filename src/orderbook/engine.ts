/**
 * The matching engine: the order-book decider behind the framework's command handler and
 * event store, one stream per symbol. It adds what a single decide cannot: after each
 * command it sends `trigger-stops` commands until no stop order is left to trigger.
 *
 * `submit` validates the command (zod); `submitValidated` is the hot path for commands
 * already validated where they entered. Both are synchronous: await `durable()` (or
 * `store.durable(position)`) once per batch.
 */
import { ValidationError } from "../core/errors.ts";
import { releaseAndThrow } from "../core/release.ts";
import { checkInteger, checkKeys, invalid } from "../core/check.ts";
import type { RecordedEvent } from "../core/events.ts";
import { EventStore, type InlineProjection } from "../core/event-store.ts";
import { CommandHandler } from "../core/command-handler.ts";
import type { StorageAdapter } from "../core/storage.ts";
import { memoryStorage } from "../adapter/memory/index.ts";
import type { OrderBook } from "./book.ts";
import { OrderCommand, type OrderCommandInput } from "./commands.ts";
import { bookStreamId, orderBookDecider } from "./decider.ts";
import { type OrderBookEvent, orderBookEvents } from "./events.ts";
import { bookFromData, type BookData, bookToData, stateHash } from "./snapshot.ts";
import { DEFAULT_MAX_PRICE, DEFAULT_MAX_QUANTITY, type Instrument } from "./types.ts";

/** What the matching engine needs. */
export interface OrderBookEngineOptions {
  /** The instruments it trades (one book each). */
  instruments: readonly Instrument[];
  /** Defaults to memory storage. Pass WAL storage with `orderBookCodecs` for durability. */
  storage?: StorageAdapter;
  /** Events kept in memory (default 10,000). */
  bufferSize?: number;
  /** Snapshot each book every this many events (default: no snapshots). */
  snapshotEvery?: number;
  /** Inline projections (market data and the like). */
  projections?: InlineProjection<OrderBookEvent>[];
}

/** What a command caused. */
export interface SubmitResult {
  /** Every event the command caused, stop triggers included. */
  events: RecordedEvent<OrderBookEvent>[];
  /** Global position of the last of them. */
  position: number;
}

/** Bumped whenever BookData changes shape: older snapshots are then rebuilt from the log. */
const BOOK_SNAPSHOT_VERSION = 1;

/** The matching engine: the order-book decider behind the framework's command handler and event store. */
export class OrderBookEngine {
  /** The event store (its `durable(position)` acknowledges batches). */
  readonly store: EventStore<OrderBookEvent>;
  /** The command handler running the decider. */
  readonly handler: CommandHandler<OrderCommand, OrderBook, OrderBookEvent>;
  /** Instruments by symbol. */
  readonly instruments: ReadonlyMap<string, Instrument>;

  private constructor(store: EventStore<OrderBookEvent>, instruments: ReadonlyMap<string, Instrument>, snapshotEvery?: number) {
    this.store = store;
    this.instruments = instruments;
    this.handler = new CommandHandler({
      store,
      decider: orderBookDecider(instruments),
      command: OrderCommand,
      streamId: (command) => bookStreamId(command.symbol),
      snapshots: snapshotEvery === undefined ? undefined : {
        every: snapshotEvery,
        schemaVersion: BOOK_SNAPSHOT_VERSION,
        serialize: bookToData,
        deserialize: (data) => {
          const book = data as BookData;
          const instrument = instruments.get(book.symbol);
          if (instrument === undefined) throw new ValidationError("book snapshot", [{ path: "symbol", message: `unknown symbol "${book.symbol}"` }]);
          return bookFromData(book, instrument);
        },
      },
    });
  }

  /** Opens the store (recovering the log), then loads every instrument's book. */
  static async open(options: OrderBookEngineOptions): Promise<OrderBookEngine> {
    checkKeys("order book engine options", options, ["instruments", "storage", "bufferSize", "snapshotEvery", "projections"]);
    if (!Array.isArray(options.instruments) || options.instruments.length === 0) {
      invalid("order book engine options", "instruments", "must be a non-empty array");
    }
    checkInteger("order book engine options", "snapshotEvery", options.snapshotEvery, 1);
    const instruments = new Map<string, Instrument>();
    for (const instrument of options.instruments) {
      checkInstrument(instrument);
      if (instruments.has(instrument.symbol)) {
        throw new ValidationError(`instrument "${instrument.symbol}"`, [{ path: "symbol", message: "defined twice" }]);
      }
      instruments.set(instrument.symbol, instrument);
    }
    const store = new EventStore({
      events: orderBookEvents(),
      storage: options.storage ?? memoryStorage(),
      bufferSize: options.bufferSize,
      projections: options.projections,
      // The book's events are its decider's, one command's apart by position: no ids to
      // generate, store and index on the hot path.
      eventIds: "given",
    });
    await store.open();
    try {
      const engine = new OrderBookEngine(store, instruments, options.snapshotEvery);
      for (const symbol of instruments.keys()) {
        const book = await engine.handler.load(bookStreamId(symbol));
        // A crash between a command's append and its stop triggers' appends leaves triggered
        // stops waiting: execute them now, as the command would have.
        if (book.triggeredStop() !== undefined) {
          engine.#triggerStops(symbol, [], 0);
          await engine.durable();
        }
      }
      return engine;
    } catch (error) {
      // Whatever failed after the store opened (a snapshot that does not load, a failed
      // sync), release what the store took (writer, lock) so the caller can retry.
      return await releaseAndThrow(error, () => store.close());
    }
  }

  /** Validates and executes a command. Throws ValidationError (and changes nothing) on bad shape. */
  submit(input: OrderCommandInput): SubmitResult {
    const command = this.handler.parse(input);
    if (!this.instruments.has(command.symbol)) {
      throw new ValidationError("order command", [{ path: "symbol", message: `unknown symbol "${command.symbol}"` }]);
    }
    return this.submitValidated(command);
  }

  /** Executes a command that was validated where it entered (the hot path). */
  submitValidated(command: OrderCommand): SubmitResult {
    const result = this.handler.execute(command);
    const book = result.state;
    if (book.triggeredStop() === undefined) {
      return { events: result.events, position: result.position };
    }
    return this.#triggerStops(command.symbol, [...result.events], result.position);
  }

  /**
   * `submitValidated` for a hot path that keeps nothing of the result past the call: the
   * result, its list and its events may be lent (objects returned before, refilled), valid
   * until the next `submitLent`. On the file WAL a command then makes no objects for its
   * events (CommandHandler.executeLent). Copy what you keep, or use `submitValidated`.
   */
  submitLent(command: OrderCommand): SubmitResult {
    const result = this.handler.executeLent(command);
    // Stops go on owned (execute): the lent events stay as they are until the next submitLent.
    if (result.state.triggeredStop() !== undefined) return this.#triggerStops(command.symbol, [...result.events], result.position);
    const lent = this.#lent;
    lent.events = result.events;
    lent.position = result.position;
    return lent;
  }

  /** submitLent's result, refilled for each command. */
  readonly #lent: SubmitResult = { events: [], position: 0 };

  /** Executes `trigger-stops` until no stop is left to trigger; adds its events to `events`. */
  #triggerStops(symbol: string, events: RecordedEvent<OrderBookEvent>[], position: number): SubmitResult {
    const book = this.book(symbol);
    const trigger: OrderCommand = { type: "trigger-stops", symbol };
    while (book.triggeredStop() !== undefined) {
      const triggered = this.handler.execute(trigger);
      for (const event of triggered.events) events.push(event);
      position = triggered.position;
    }
    return { events, position };
  }

  /** The live book of a symbol (do not change it). */
  book(symbol: string): OrderBook {
    const book = this.handler.cached(bookStreamId(symbol));
    if (book === undefined) throw new ValidationError("book", [{ path: "symbol", message: `unknown symbol "${symbol}"` }]);
    return book;
  }

  /** SHA-256 of the book's state, for replay checks. */
  stateHash(symbol: string): Promise<string> {
    return stateHash(this.book(symbol));
  }

  /** Resolves once everything submitted so far is durable. */
  durable(): Promise<void> {
    return this.store.durable();
  }

  /** Saves pending snapshots and closes the store. */
  async close(): Promise<void> {
    await this.handler.flushSnapshots();
    await this.store.close();
  }
}

/** Checks an instrument's fields: ticks, lots and bounds are integers the book can sum exactly. */
function checkInstrument(instrument: Instrument): void {
  const what = `instrument "${instrument?.symbol}"`;
  if (typeof instrument?.symbol !== "string" || instrument.symbol.length === 0 || instrument.symbol.length > 64) {
    throw new ValidationError(what, [{ path: "symbol", message: "must be a string of 1 to 64 characters" }]);
  }
  const bounds: [keyof Instrument, number | undefined, number][] = [
    ["tickSize", instrument.tickSize, 1],
    ["lotSize", instrument.lotSize, 1],
    ["maxPrice", instrument.maxPrice ?? DEFAULT_MAX_PRICE, instrument.tickSize],
    ["maxQuantity", instrument.maxQuantity ?? DEFAULT_MAX_QUANTITY, instrument.lotSize],
  ];
  checkKeys(what, instrument, ["symbol", "tickSize", "lotSize", "maxQuantity", "maxPrice", "stopGuard"]);
  if (instrument.stopGuard !== undefined && typeof instrument.stopGuard !== "boolean") {
    throw new ValidationError(what, [{ path: "stopGuard", message: `must be a boolean, got ${typeof instrument.stopGuard}` }]);
  }
  for (const [key, value, min] of bounds) {
    if (!Number.isSafeInteger(value) || value! < min) {
      throw new ValidationError(what, [{ path: key, message: `must be an integer from ${min} to ${Number.MAX_SAFE_INTEGER}, got ${value}` }]);
    }
  }
}
