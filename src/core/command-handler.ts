/**
 * The command handler: validate the command, load the aggregate's state (cached, or
 * snapshot + tail), decide, append with the expected version, evolve, acknowledge.
 *
 * `handle` is the convenient, awaited form. The hot path is `execute`: synchronous, no
 * promise per command, for a stream already loaded; the caller awaits durability once
 * for a whole batch with `store.durable(position)` (or uses `handleMany`).
 */
import { ConcurrencyError, StreamDeletedError } from "./errors.ts";
import { checkFunction, checkInteger, checkKeys, invalid } from "./check.ts";
import type { Decider } from "./decider.ts";
import type { Event, Metadata, RecordedEvent } from "./events.ts";
import { type Schema, validateWith } from "./events.ts";
import type { EventStore } from "./event-store.ts";
import type { SnapshotStore } from "./snapshots.ts";
import { acknowledgesDurable, type ExpectedVersion, expectedVersionHolds } from "./storage.ts";
import { observe } from "./observer.ts";

/** When and how the command handler snapshots a stream's state. */
export interface SnapshotPolicy<S> {
  /** Take a snapshot every this many events of a stream. */
  every: number;
  /** The state's shape version; snapshots of another version are ignored and rebuilt. */
  schemaVersion: number;
  /** Where to keep them (default: the storage adapter's snapshot store). */
  store?: SnapshotStore;
  /** State to a JSON-compatible value (default: a JSON round trip). */
  serialize?(state: S): unknown;
  /** The inverse of `serialize`; must return a fresh state object. */
  deserialize?(data: unknown): S;
}

/** What a command handler needs. */
export interface CommandHandlerOptions<C, S, E extends Event> {
  /** The event store it appends to. */
  store: EventStore<E>;
  /** The decider it runs. */
  decider: Decider<C, S, E>;
  /** Which stream a command is about. */
  streamId(command: C): string;
  /** Validates untrusted input (any Standard Schema: zod, valibot, ...); without it input is taken as typed. */
  command?: Schema<unknown, C>;
  /** Snapshot policy; none by default. */
  snapshots?: SnapshotPolicy<S>;
  /**
   * On a shared log, when another writer appended to the stream between this handler's
   * read and its append (a ConcurrencyError the caller did not ask for), catch up, reload
   * and decide again, up to this many times (default 0: the error goes to the caller).
   * A conflict with the caller's own `expectedVersion` is never retried.
   */
  retryOnConflict?: number;
}

/** Options of one `handle` (or `execute`). */
export interface HandleOptions {
  /** Decide only if the stream is at this version (else ConcurrencyError, nothing appended). */
  expectedVersion?: ExpectedVersion;
  /**
   * Metadata for every event the command causes, merged under each event's own: by
   * convention `correlationId` (the conversation it belongs to; read filters take it) and
   * `causationId` (the id of the message that caused this command).
   */
  metadata?: Metadata;
}

/** What `execute` and `handle` return. */
export interface ExecuteResult<S, E extends Event> {
  /** The stream the command was about. */
  streamId: string;
  /** The events the command produced, as stored. */
  events: RecordedEvent<E>[];
  /** The state after the events (the live, cached object). */
  state: S;
  /** The stream's version after the command. */
  streamVersion: number;
  /** Global position of the last event (the head when the command produced none). */
  position: number;
}

/** What `handleMany` returns. */
export interface BatchResult {
  /** Commands that were decided and appended. */
  succeeded: number;
  /** Commands that failed, by their index in the input, with the error. Nothing of theirs was appended. */
  failures: { index: number; error: unknown }[];
  /** Global position after the batch. */
  position: number;
}

interface Loaded<S> {
  state: S;
  version: number;
  snapshotVersion: number;
}

/** Runs commands: validate, load (cache, snapshot + tail), decide, append with the expected version, evolve. */
export class CommandHandler<C, S, E extends Event> {
  readonly #store: EventStore<E>;
  readonly #decider: Decider<C, S, E>;
  readonly #streamIdOf: (command: C) => string;
  readonly #schema?: Schema<unknown, C>;
  readonly #snapshots?: Required<Omit<SnapshotPolicy<S>, "store">> & { store: SnapshotStore };
  readonly #cache = new Map<string, Loaded<S>>();
  readonly #loading = new Map<string, Promise<Loaded<S>>>();
  /** Snapshot saves under way; `flushSnapshots` awaits them. */
  readonly #saving = new Set<Promise<void>>();
  readonly #retries: number;

  /** A handler for `options.decider` over `options.store`. */
  constructor(options: CommandHandlerOptions<C, S, E>) {
    checkHandlerOptions(options);
    this.#store = options.store;
    this.#decider = options.decider;
    this.#streamIdOf = options.streamId;
    this.#schema = options.command;
    this.#retries = options.retryOnConflict ?? 0;
    const policy = options.snapshots;
    if (policy !== undefined) {
      this.#snapshots = {
        every: policy.every,
        schemaVersion: policy.schemaVersion,
        store: policy.store ?? options.store.storage.snapshots,
        serialize: policy.serialize ?? ((state) => JSON.parse(JSON.stringify(state))),
        deserialize: policy.deserialize ?? ((data) => structuredClone(data) as S),
      };
    }
  }

  /** Validates raw input into a command; throws ValidationError naming the field. */
  parse(input: unknown): C {
    if (this.#schema === undefined) return input as C;
    return validateWith(this.#schema, input, "command");
  }

  /** Validates, loads, decides, appends and acknowledges by the store's durability mode. */
  async handle(input: unknown, options?: HandleOptions): Promise<ExecuteResult<S, E>> {
    checkHandleOptions(options);
    const command = this.parse(input);
    const end = observe(this.#store.observer, "command", { streamId: this.#streamIdOf(command) });
    try {
      const result = await this.#handle(command, options);
      end();
      return result;
    } catch (error) {
      end(error);
      throw error;
    }
  }

  async #handle(command: C, options?: HandleOptions): Promise<ExecuteResult<S, E>> {
    if (this.#store.shared) return await this.#handleShared(command, options);
    await this.load(this.#streamIdOf(command));
    const result = this.execute(command, options);
    await this.#acknowledge(result.position);
    return result;
  }

  /**
   * A validated command on a shared log: another writer may have appended, so decide on the
   * log's latest, and let the log refuse the append (ConcurrencyError) if someone got in
   * between; with `retryOnConflict`, decide again on what they wrote.
   */
  async #handleShared(command: C, options?: HandleOptions): Promise<ExecuteResult<S, E>> {
    for (let attempt = 0;; attempt++) {
      try {
        return await this.#handleSharedOnce(command, options);
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || error instanceof ExpectationError || attempt >= this.#retries) throw error;
      }
    }
  }

  async #handleSharedOnce(command: C, options?: HandleOptions): Promise<ExecuteResult<S, E>> {
    const streamId = this.#streamIdOf(command);
    await this.#store.catchUp();
    await this.load(streamId);
    const loaded = this.#current(streamId);
    checkExpectation(streamId, options?.expectedVersion, loaded.version);
    const decided = withMetadata(this.#decider.decide(command, loaded.state), options?.metadata);
    const appended = await this.#store.append(streamId, decided, { expectedVersion: loaded.version });
    // The append brought the events into the store; fold them (and any that came after)
    // the one way every other load does, so that concurrent handles never fold them twice.
    const state = await this.load(streamId);
    this.#snapshotIfDue(streamId, this.#current(streamId), appended.position);
    return { streamId, events: appended.events, state, streamVersion: appended.streamVersion, position: appended.position };
  }

  /**
   * Handles many commands with one acknowledgement: loads every stream they touch,
   * executes them in order (no promise per command), then awaits durability once.
   * A failing command is reported by index and does not stop the others.
   */
  async handleMany(inputs: readonly unknown[], options?: { metadata?: Metadata }): Promise<BatchResult> {
    checkHandleOptions(options);
    if (options !== undefined && "expectedVersion" in options) invalid("handleMany options", "expectedVersion", "is per command: use handle()");
    const failures: { index: number; error: unknown }[] = [];
    const commands: (C | undefined)[] = new Array(inputs.length);
    const streams = new Set<string>();
    for (let i = 0; i < inputs.length; i++) {
      try {
        const command = this.parse(inputs[i]);
        commands[i] = command;
        streams.add(this.#streamIdOf(command));
      } catch (error) {
        failures.push({ index: i, error });
      }
    }
    const shared = this.#store.shared;
    if (!shared) for (const streamId of streams) await this.load(streamId);
    let succeeded = 0;
    for (let i = 0; i < commands.length; i++) {
      const command = commands[i];
      if (command === undefined) continue;
      try {
        // A shared log's appends are asynchronous, each checked by the log.
        if (shared) await this.#handleShared(command, options);
        else this.execute(command, options);
        succeeded++;
      } catch (error) {
        failures.push({ index: i, error });
      }
    }
    failures.sort((a, b) => a.index - b.index);
    const position = this.#store.headPosition;
    await this.#acknowledge(position);
    return { succeeded, failures, position };
  }

  /**
   * The hot path: decides and appends a validated command against a loaded stream,
   * synchronously. Durability is the caller's to await, by position.
   */
  execute(command: C, options?: HandleOptions): ExecuteResult<S, E> {
    return this.#execute(command, options, false);
  }

  /**
   * `execute` for a hot path that keeps nothing of the result past the command: the result,
   * its list of events and the events may be lent (objects it returned before, refilled),
   * valid until the next `executeLent`. Where the decider's `evolve` keeps no events
   * (Decider.evolveKeepsNoEvents) the store's `enqueueLent` records them, and where the store
   * keeps none either (EventStore.keepsNoEvents: its storage holds them encoded) the
   * decider's `decideLent` makes them: a command then makes no objects for its events.
   */
  executeLent(command: C, options?: HandleOptions): ExecuteResult<S, E> {
    return this.#execute(command, options, true);
  }

  #execute(command: C, options: HandleOptions | undefined, lend: boolean): ExecuteResult<S, E> {
    const streamId = this.#streamIdOf(command);
    const loaded = this.#current(streamId);
    if (options !== undefined) {
      checkHandleOptions(options);
      checkExpectation(streamId, options.expectedVersion, loaded.version);
    }
    const decider = this.#decider;
    const store = this.#store;
    // Lent events are refilled by the next command: only where neither evolve nor the store keeps them.
    const lendEvents = lend && decider.evolveKeepsNoEvents === true;
    const decided = withMetadata(
      lendEvents && decider.decideLent !== undefined && store.keepsNoEvents ? decider.decideLent(command, loaded.state) : decider.decide(command, loaded.state),
      options?.metadata,
    );
    const events = lendEvents ? store.enqueueLent(streamId, decided, loaded.version) : store.enqueueEvents(streamId, decided, loaded.version);
    return this.#evolve(streamId, loaded, events, lend);
  }

  /** executeLent's result, refilled for each command. */
  #lentResult?: ExecuteResult<S, E>;

  /** Folds what an append stored into the cached state; snapshots when due. */
  #evolve(streamId: string, loaded: Loaded<S>, events: RecordedEvent<E>[], lend = false): ExecuteResult<S, E> {
    try {
      for (const event of events) loaded.state = this.#decider.evolve(loaded.state, event);
    } catch (error) {
      // The events are stored but the cached state is half-evolved: forget it.
      this.#cache.delete(streamId);
      throw error;
    }
    const last = events.at(-1);
    if (last !== undefined) loaded.version = last.streamVersion;
    const position = last?.position ?? this.#store.headPosition;
    this.#snapshotIfDue(streamId, loaded, position);
    const result = lend ? this.#lentResult : undefined;
    if (result === undefined) {
      const made = { streamId, events, state: loaded.state, streamVersion: loaded.version, position };
      if (lend) this.#lentResult = made;
      return made;
    }
    result.streamId = streamId;
    result.events = events;
    result.state = loaded.state;
    result.streamVersion = loaded.version;
    result.position = position;
    return result;
  }

  /** Makes sure the stream's state is cached and current; returns it. */
  async load(streamId: string): Promise<S> {
    let loaded = this.#cache.get(streamId);
    if (loaded === undefined) {
      let loading = this.#loading.get(streamId);
      if (loading === undefined) {
        loading = this.#loadFromStorage(streamId).finally(() => this.#loading.delete(streamId));
        this.#loading.set(streamId, loading);
      }
      loaded = await loading;
      this.#cache.set(streamId, loaded);
    }
    // Catch up with events appended past the cached version (by another writer).
    while (loaded.version < this.#store.streamVersion(streamId)) await this.#foldTail(streamId, loaded);
    return loaded.state;
  }

  /** The cached state of a loaded stream, if any. */
  cached(streamId: string): S | undefined {
    return this.#cache.get(streamId)?.state;
  }

  /** Forgets cached state, so the next command loads from storage (snapshot + tail). */
  evict(streamId?: string): void {
    if (streamId === undefined) this.#cache.clear();
    else this.#cache.delete(streamId);
  }

  /** Waits for snapshot saves under way; rejects with the first that failed. */
  async flushSnapshots(): Promise<void> {
    await Promise.all(this.#saving);
  }

  #current(streamId: string): Loaded<S> {
    const loaded = this.#cache.get(streamId);
    const version = this.#store.streamVersion(streamId);
    if (loaded === undefined) {
      if (version !== 0) {
        throw new ConcurrencyError(streamId, "a loaded state (call load() first)", version);
      }
      const fresh = { state: this.#decider.initialState(streamId), version: 0, snapshotVersion: 0 };
      this.#cache.set(streamId, fresh);
      return fresh;
    }
    // Fold, from the event buffer, anything another writer appended since; if it is no
    // longer buffered the caller must load() again.
    while (loaded.version < version) {
      const event = this.#store.buffer.get(this.#store.positionOf(streamId, loaded.version + 1));
      if (event === undefined) throw new ConcurrencyError(streamId, loaded.version, version);
      if (this.#store.hides(event)) {
        // A marker: the stream was deleted (say so) or truncated (nothing to fold).
        if (this.#store.streamDeleted(streamId)) throw new StreamDeletedError(streamId);
      } else loaded.state = this.#decider.evolve(loaded.state, event);
      loaded.version++;
    }
    return loaded;
  }

  async #loadFromStorage(streamId: string): Promise<Loaded<S>> {
    const loaded: Loaded<S> = { state: this.#decider.initialState(streamId), version: 0, snapshotVersion: 0 };
    const current = this.#store.streamVersion(streamId);
    const policy = this.#snapshots;
    if (policy !== undefined && current > 0) {
      const snapshot = await policy.store.load(streamId);
      // A snapshot of another state shape, or past what the log holds (its events were
      // lost in a crash before they became durable), is not trusted: rebuild instead.
      if (
        snapshot !== undefined && snapshot.schemaVersion === policy.schemaVersion &&
        snapshot.streamVersion <= current
      ) {
        loaded.state = policy.deserialize(snapshot.state);
        loaded.version = snapshot.streamVersion;
        loaded.snapshotVersion = snapshot.streamVersion;
      }
    }
    if (loaded.version < current) await this.#foldTail(streamId, loaded);
    return loaded;
  }

  /** Evolves the state through the stream's events after its version, chunk by chunk. */
  async #foldTail(streamId: string, loaded: Loaded<S>): Promise<void> {
    const upTo = this.#store.streamVersion(streamId);
    const decider = this.#decider;
    const fold = (event: RecordedEvent<E>) => {
      if (event.streamVersion <= loaded.version || event.streamVersion > upTo) return; // folded meanwhile, or past upTo
      loaded.state = decider.evolve(loaded.state, event);
      loaded.version = event.streamVersion;
    };
    // An evolve that keeps no events can be lent them: no objects made per event.
    if (decider.evolveKeepsNoEvents === true) await this.#store.visitStream(streamId, loaded.version + 1, fold);
    else {
      for await (const chunk of this.#store.readStreamChunks(streamId, loaded.version + 1)) {
        for (const event of chunk) fold(event);
      }
    }
    // Reads leave out markers and truncated events: every version up to upTo is folded now.
    if (loaded.version < upTo) loaded.version = upTo;
  }

  #snapshotIfDue(streamId: string, loaded: Loaded<S>, position: number): void {
    if (this.#snapshots && loaded.version - loaded.snapshotVersion >= this.#snapshots.every) this.#snapshot(streamId, loaded, position);
  }

  #snapshot(streamId: string, loaded: Loaded<S>, position: number): void {
    const policy = this.#snapshots!;
    // Serialize now (the state changes in place); save only once the events it covers
    // are durable, so a snapshot never describes events a crash can still lose.
    const snapshot = {
      streamId,
      streamVersion: loaded.version,
      schemaVersion: policy.schemaVersion,
      state: policy.serialize(loaded.state),
    };
    loaded.snapshotVersion = loaded.version;
    const saving = this.#store.durable(position).then(() => policy.store.save(snapshot));
    this.#saving.add(saving);
    // A failed save loses nothing (the log is the truth) but is reported, and stays in
    // the set so that flushSnapshots rejects with it.
    saving.then(
      () => this.#saving.delete(saving),
      (error) => console.error(`eventfold: snapshot of "${streamId}" failed:`, error),
    );
  }

  #acknowledge(position: number): Promise<void> | void {
    if (acknowledgesDurable(this.#store.durability)) return this.#store.durable(position);
  }
}

/**
 * The metadata for a command sent in reaction to `event` (a process manager, a consumer):
 * the conversation's `correlationId` carried on (the event's own id starts one), and the
 * event's id as the `causationId`. Pass it as `handle(command, { metadata: causedBy(event) })`.
 */
export function causedBy(event: { id?: string; position: number; metadata?: Metadata }): { correlationId: string; causationId: string } {
  const causationId = event.id ?? `position-${event.position}`;
  const correlation = event.metadata?.correlationId;
  return { correlationId: typeof correlation === "string" ? correlation : causationId, causationId };
}

/** A conflict with the version the caller expected (never retried). */
class ExpectationError extends ConcurrencyError {}

function checkExpectation(streamId: string, expected: ExpectedVersion | undefined, version: number): void {
  if (expected !== undefined && !expectedVersionHolds(expected, version)) throw new ExpectationError(streamId, expected, version);
}

/** The events with `metadata` under each one's own (the events are the decider's: copied, not changed). */
function withMetadata<E extends Event>(events: readonly E[], metadata: Metadata | undefined): readonly E[] {
  if (metadata === undefined) return events;
  return events.map((event) => ({ ...event, metadata: { ...metadata, ...event.metadata } }));
}

function checkHandleOptions(options: HandleOptions | undefined): void {
  if (options === undefined) return;
  const what = "handle options";
  checkKeys(what, options, ["expectedVersion", "metadata"]);
  const expected = options.expectedVersion;
  if (
    expected !== undefined && expected !== "any" && expected !== "no_stream" && expected !== "stream_exists" &&
    !(Number.isSafeInteger(expected) && expected >= 0)
  ) invalid(what, "expectedVersion", `must be "any", "no_stream", "stream_exists" or a version >= 0, got ${String(expected)}`);
  const metadata = options.metadata;
  if (metadata !== undefined && (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))) {
    invalid(what, "metadata", "must be an object");
  }
}

/** Creates a command handler for a decider over a store. */
export function createCommandHandler<C, S, E extends Event>(
  options: CommandHandlerOptions<C, S, E>,
): CommandHandler<C, S, E> {
  return new CommandHandler(options);
}

/** Checks a handler's options where they enter: each wrong one is named. */
function checkHandlerOptions<C, S, E extends Event>(options: CommandHandlerOptions<C, S, E>): void {
  const what = "command handler options";
  checkKeys(what, options, ["store", "decider", "streamId", "command", "snapshots", "retryOnConflict"]);
  checkInteger(what, "retryOnConflict", options.retryOnConflict, 0);
  const store = options.store as Partial<EventStore<E>> | undefined;
  if (typeof store?.enqueue !== "function" || typeof store.readStreamChunks !== "function") invalid(what, "store", "must be an event store");
  const decider = options.decider as Partial<Decider<C, S, E>> | undefined;
  for (const key of ["initialState", "decide", "evolve"] as const) {
    if (typeof decider?.[key] !== "function") invalid(what, `decider.${key}`, "must be a function");
  }
  if (decider!.decideLent !== undefined && typeof decider!.decideLent !== "function") invalid(what, "decider.decideLent", "must be a function");
  const keepsNone = decider!.evolveKeepsNoEvents;
  if (keepsNone !== undefined && typeof keepsNone !== "boolean") invalid(what, "decider.evolveKeepsNoEvents", "must be a boolean");
  if (typeof options.streamId !== "function") invalid(what, "streamId", "must be a function");
  const schema = options.command as { "~standard"?: { validate?: unknown } } | undefined;
  if (schema !== undefined && typeof schema?.["~standard"]?.validate !== "function") {
    invalid(what, "command", "must be a Standard Schema validator (zod, valibot, ...)");
  }
  const policy = options.snapshots;
  if (policy === undefined) return;
  checkKeys("snapshot policy", policy, ["every", "schemaVersion", "store", "serialize", "deserialize"]);
  if (policy.every === undefined) invalid("snapshot policy", "every", "is required");
  checkInteger("snapshot policy", "every", policy.every, 1);
  if (policy.schemaVersion === undefined) invalid("snapshot policy", "schemaVersion", "is required");
  checkInteger("snapshot policy", "schemaVersion", policy.schemaVersion, 1);
  checkFunction("snapshot policy", "serialize", policy.serialize);
  checkFunction("snapshot policy", "deserialize", policy.deserialize);
}
