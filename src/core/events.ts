/**
 * Event definitions, validation and upcasting.
 *
 * An event is `{ type, data, metadata? }`. Its `data` is described by a schema (any
 * Standard Schema validator: zod 3.24+ or 4, valibot, arktype, ...); an
 * event type can evolve through schema versions, and stored events of an older version
 * are brought to the current one by a chain of upcasters (v1 -> v2 -> v3) when read.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { type Issue, ValidationError } from "./errors.ts";
import { utf8Length } from "./utf8.ts";
import { uuidV7 } from "./uuid-v7.ts";
import { isSystemType } from "./stream-removal.ts";

/** Any Standard Schema validator (https://standardschema.dev): zod, valibot, arktype, ... */
export type Schema<Input = unknown, Output = Input> = StandardSchemaV1<Input, Output>;
/** What a schema accepts. */
export type SchemaInput<S extends Schema> = StandardSchemaV1.InferInput<S>;
/** What a schema produces. */
export type SchemaOutput<S extends Schema> = StandardSchemaV1.InferOutput<S>;

/** The longest event id, in bytes of UTF-8 (the WAL stores its length in one byte). */
export const MAX_ID_LENGTH = 255;

/** Free-form, JSON-compatible information carried next to an event's data. */
export type Metadata = Record<string, unknown>;

/** An event as a decider produces it and an append accepts it. */
export interface Event<T extends string = string, D = unknown> {
  /** The event type's name. */
  type: T;
  /** The payload, as the type's schema describes it. */
  data: D;
  /** Optional metadata (correlation ids and the like), JSON-compatible. */
  metadata?: Metadata;
  /**
   * The event's id (1 to 255 bytes of UTF-8; a UUID by convention). Given, it makes the
   * append idempotent: appending the same ids to the same stream again returns the first
   * append's result and appends nothing. Not given, the store generates a UUIDv7 (unless
   * its `eventIds` option is `"given"`).
   */
  id?: string;
}

/** Where an event sits once stored: its stream, its version in it, its global position. */
export interface RecordedInfo {
  /** The stream the event belongs to. */
  streamId: string;
  /** 1-based index of the event in its stream. */
  streamVersion: number;
  /** 1-based position in the store's global log. */
  position: number;
  /** Milliseconds since the epoch at which the event was appended. */
  timestamp: number;
  /** Schema version of `data`: always the type's current one once read (upcast). */
  schemaVersion: number;
}

/** An event as read back from the store. */
export type RecordedEvent<E extends Event = Event> = E & RecordedInfo;

/** Brings `data` of schema version N to version N + 1. */
export type Upcaster = (data: unknown, metadata: Metadata | undefined) => unknown;

/** A typed event type: its name, schema, current schema version and upcasters. */
export interface EventDefinition<T extends string = string, S extends Schema = Schema> {
  /** The event type's name. */
  readonly type: T;
  /** The schema of its data. */
  readonly schema: S;
  /** Current schema version (1 for a type that never changed). */
  readonly version: number;
  /** `upcasters[v]` turns data of version v into version v + 1. */
  readonly upcasters: Readonly<Record<number, Upcaster>>;
  /** Skip schema validation on append (see DefineEventOptions.trusted). */
  readonly trusted: boolean;
  /** Builds a validated event of this type. Throws ValidationError on bad data. */
  create(data: SchemaInput<S>, metadata?: Metadata): Event<T, SchemaOutput<S>>;
}

/** The event type a definition describes. */
export type EventOf<D> = D extends EventDefinition<infer T, infer S> ? Event<T, SchemaOutput<S>>
  : never;

/** Options of `defineEvent`. */
export interface DefineEventOptions {
  /** Current schema version; defaults to 1. */
  version?: number;
  /** One upcaster for each older version: key v maps version v to v + 1. */
  upcasters?: Record<number, Upcaster>;
  /**
   * Events of this type are only ever built by your own code from validated input (a hot
   * decider's output): appends skip the schema check, and so do reads of records stored at
   * the current schema version (their bytes are checksummed; a fixed codec still checks
   * their layout). `create` and upcast records are still validated. Leave it off unless a
   * profile shows validation on your hot path.
   */
  trusted?: boolean;
}

/** Defines an event type whose data is validated by `schema`. */
export function defineEvent<T extends string, S extends Schema>(
  type: T,
  schema: S,
  options: DefineEventOptions = {},
): EventDefinition<T, S> {
  if (typeof type !== "string" || type.length === 0) {
    throw new ValidationError("event definition", [{ path: "type", message: "must be a non-empty string" }]);
  }
  if (isSystemType(type)) {
    throw new ValidationError(`event definition "${type}"`, [{ path: "type", message: `types beginning with "$" are the store's own` }]);
  }
  if (typeof (schema as Partial<Schema> | null)?.["~standard"]?.validate !== "function") {
    throw new ValidationError(`event definition "${type}"`, [
      { path: "schema", message: "must be a Standard Schema validator (zod 3.24+ or 4, valibot, arktype, ...)" },
    ]);
  }
  const version = options.version ?? 1;
  if (!Number.isInteger(version) || version < 1) {
    throw new ValidationError(`event definition "${type}"`, [
      { path: "version", message: `must be an integer >= 1, got ${version}` },
    ]);
  }
  const upcasters = options.upcasters ?? {};
  for (let v = 1; v < version; v++) {
    if (typeof upcasters[v] !== "function") {
      throw new ValidationError(`event definition "${type}"`, [
        { path: `upcasters.${v}`, message: `missing upcaster from version ${v} to ${v + 1}` },
      ]);
    }
  }
  const definition: EventDefinition<T, S> = {
    type,
    schema,
    version,
    upcasters,
    trusted: options.trusted ?? false,
    create(data, metadata) {
      const parsed = parseData(definition, data, `event "${type}"`);
      return metadata === undefined ? { type, data: parsed } : { type, data: parsed, metadata };
    },
  };
  return definition;
}

/** Validates one value against a definition's schema, turning its issues into ours. */
function parseData<S extends Schema>(
  definition: EventDefinition<string, S>,
  data: unknown,
  what: string,
): SchemaOutput<S> {
  return validateWith(definition.schema, data, what, "data");
}

/**
 * Validates `value` with a Standard Schema; throws ValidationError (issue paths prefixed
 * with `prefix`) on failure. Schemas must validate synchronously: appends are synchronous.
 */
export function validateWith<S extends Schema>(schema: S, value: unknown, what: string, prefix = ""): SchemaOutput<S> {
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) {
    throw new ValidationError(what, [{ path: prefix, message: "the schema validates asynchronously; eventfold needs a synchronous schema" }]);
  }
  if (result.issues) throw new ValidationError(what, schemaIssues(result.issues, prefix));
  return result.value as SchemaOutput<S>;
}

/** Converts Standard Schema issues to `{ path, message }`, prefixing the path. */
export function schemaIssues(issues: readonly StandardSchemaV1.Issue[], prefix = ""): Issue[] {
  return issues.map((issue) => ({
    path: [prefix, ...(issue.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment))]
      .filter((p) => p !== "").join("."),
    message: issue.message,
  }));
}

/** A record as storage holds it: data in the schema version it was written with. */
export interface StoredRecord extends RecordedInfo {
  /** The event type. */
  type: string;
  /** The data, as stored (upcast on read). */
  data: unknown;
  /** Metadata, if any. */
  metadata: Metadata | undefined;
  /** The event's id, if it has one (see Event.id). */
  id?: string;
}

/**
 * `init` as a constructor of plain objects: `new` runs it on an object whose prototype is
 * Object.prototype, so what it makes is a plain object to whoever reads it
 * (deepStrictEqual, spread, JSON).
 *
 * Objects made many times on a hot path are made this way, never with an object literal.
 * V8 keeps feedback per literal (its allocation site) on how many of its objects survive a
 * young-generation collection, and once most do it allocates that literal's objects in
 * the old generation for good ("pretenuring"); `new` carries no such feedback. Records
 * (below), the order book's event data (orderbook/event-data.ts) and its decoded data
 * (orderbook/codecs.ts) each had their literals tenured, and from then on made every object
 * in the old generation, where it died.
 */
export function plainData<A extends unknown[], D>(init: (this: D, ...args: A) => void): new (...args: A) => D {
  init.prototype = Object.prototype;
  return init as unknown as new (...args: A) => D;
}

/**
 * The function behind a plainData constructor, to fill an object it made again in place:
 * its fields are set in the same order, so the object keeps its shape (the order book's
 * lent events, orderbook/event-maker.ts).
 */
export function refill<A extends unknown[], D>(constructor: new (...args: A) => D): (this: D, ...args: A) => void {
  return constructor as unknown as (this: D, ...args: A) => void;
}

/**
 * Makes a stored record: `new StoredRecordObject(...fields)` (plainData). The event buffer
 * kept the last 10,000 records, so early in a run, with the young generation still small,
 * nearly all of them survived: a record literal was tenured, and from then on every record
 * went to the old generation and died there (in the order-book engine, 4.6 MB of
 * old-generation garbage per 20 MB allocated). `id` is set only if given.
 */
function initRecord(
  this: StoredRecord,
  type: string,
  data: unknown,
  metadata: Metadata | undefined,
  schemaVersion: number,
  streamId: string,
  streamVersion: number,
  position: number,
  timestamp: number,
  id?: string,
): void {
  this.type = type;
  this.data = data;
  this.metadata = metadata;
  this.schemaVersion = schemaVersion;
  this.streamId = streamId;
  this.streamVersion = streamVersion;
  this.position = position;
  this.timestamp = timestamp;
  if (id !== undefined) this.id = id;
}
/**
 * Refills a record made by StoredRecordObject, field by field in its constructor's order
 * (one hidden class throughout), all but its id: the store's lent appends
 * (EventStore.enqueueLent). Calling initRecord on it instead was slower: the engine's
 * appends, Node 366 against 379 and Deno 321 against 336 ns a command. The WAL's lent reads
 * (RecordDecoder.decodeLent) refill theirs inline: through this function the first replay
 * of a new process ran 1-13 % slower on Node (6 pairs).
 */
export function refillRecord(
  record: StoredRecord,
  type: string,
  data: unknown,
  metadata: Metadata | undefined,
  schemaVersion: number,
  streamId: string,
  streamVersion: number,
  position: number,
  timestamp: number,
): StoredRecord {
  record.type = type;
  record.data = data;
  record.metadata = metadata;
  record.schemaVersion = schemaVersion;
  record.streamId = streamId;
  record.streamVersion = streamVersion;
  record.position = position;
  record.timestamp = timestamp;
  return record;
}
/** See initRecord. */
export const StoredRecordObject: new (...fields: Parameters<typeof initRecord>) => StoredRecord = plainData(initRecord);

/**
 * The set of event types a store accepts. It validates events on append and decodes
 * (upcasts, then validates) stored records on read.
 */
export class EventRegistry<E extends Event = Event> {
  readonly #definitions = new Map<string, EventDefinition>();

  /** A registry of these event types (use `eventRegistry`). */
  constructor(definitions: readonly EventDefinition[]) {
    for (const definition of definitions) {
      if (this.#definitions.has(definition.type)) {
        throw new ValidationError("event registry", [
          { path: definition.type, message: "event type defined twice" },
        ]);
      }
      this.#definitions.set(definition.type, definition);
    }
  }

  /** The current schema version of `type`. */
  versionOf(type: string): number {
    return this.#definition(type, "type").version;
  }

  /** Validates an event about to be appended; returns it with parsed data. */
  validate(event: unknown, what = "event"): E {
    const record = this.toRecord(event, what, "", 0, 0, 0);
    const valid: Event = record.metadata === undefined
      ? { type: record.type, data: record.data }
      : { type: record.type, data: record.data, metadata: record.metadata };
    if (record.id !== undefined) valid.id = record.id;
    return valid as E;
  }

  /**
   * Validates an event about to be appended and builds its stored record in one step
   * (the append hot path: one lookup, one object).
   */
  toRecord(
    event: unknown,
    /** Where the event came from, for messages: a label, or its index in an append. */
    what: string | number,
    streamId: string,
    streamVersion: number,
    position: number,
    timestamp: number,
    /** Give the event a new UUIDv7 if it has no id. */
    generateId = false,
    /** A record (made here, with no id) to fill in instead of making one, if the event has no id. */
    into?: StoredRecord,
  ): StoredRecord {
    // Labels are built only on failure (labelOf): string building, or even a closure, on
    // every append costs.
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      throw new ValidationError(labelOf(what), [{ path: "", message: "must be an object" }]);
    }
    const candidate = event as Record<string, unknown>;
    const type = candidate.type;
    const definition = typeof type === "string" ? this.#definitions.get(type) : undefined;
    if (definition === undefined) this.#definition(type, `${labelOf(what)}.type`);
    const metadata = candidate.metadata;
    if (metadata !== undefined && (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))) {
      throw new ValidationError(labelOf(what), [{ path: "metadata", message: "must be an object" }]);
    }
    let id = candidate.id;
    if (id === undefined) {
      if (generateId) id = uuidV7(timestamp);
    } else if (typeof id !== "string" || id.length === 0 || (id.length > MAX_ID_LENGTH / 3 && utf8Length(id) > MAX_ID_LENGTH)) {
      throw new ValidationError(labelOf(what), [{ path: "id", message: `must be a string of 1 to ${MAX_ID_LENGTH} bytes` }]);
    }
    const data = definition!.trusted ? candidate.data : this.#parse(definition!, candidate.data, what);
    if (into !== undefined && id === undefined) {
      initRecord.call(into, definition!.type, data, metadata as Metadata | undefined, definition!.version, streamId, streamVersion, position, timestamp);
      return into;
    }
    return new StoredRecordObject(definition!.type, data, metadata as Metadata | undefined, definition!.version, streamId, streamVersion, position, timestamp, id as string | undefined);
  }

  /**
   * The definition of `event` if the hot path may refill a lent record with it as it is
   * (EventStore.enqueueLent): an object of a trusted type (no schema check), with no id
   * and no metadata. Undefined for anything else, which takes `toRecord`, with its checks
   * and its errors.
   */
  lendable(event: unknown): EventDefinition | undefined {
    if (typeof event !== "object" || event === null) return undefined;
    const candidate = event as Event;
    const type = candidate.type;
    const definition = typeof type === "string" ? this.#definitions.get(type) : undefined;
    return definition !== undefined && definition.trusted && candidate.metadata === undefined && candidate.id === undefined && !Array.isArray(event)
      ? definition
      : undefined;
  }

  /**
   * Turns a stored record into a recorded event of the current schema: runs the
   * upcaster chain from the record's version, then validates.
   */
  decode(record: StoredRecord): RecordedEvent<E> {
    // Labels are built only on failure: this runs for every event replayed.
    const what = () => `stored event at position ${record.position}`;
    const definition = this.#definitions.get(record.type) ?? this.#definition(record.type, `${what()} type`);
    if (
      !Number.isInteger(record.schemaVersion) || record.schemaVersion < 1 ||
      record.schemaVersion > definition.version
    ) {
      throw new ValidationError(what(), [{
        path: "schemaVersion",
        message: `"${record.type}" has versions 1..${definition.version}, got ${record.schemaVersion}`,
      }]);
    }
    // A trusted type at its current version was validated (or built by trusted code) when
    // appended, and the log's checksums vouch for the bytes: pass the record through as is.
    if (definition.trusted && record.schemaVersion === definition.version) return record as RecordedEvent<E>;
    let data = record.data;
    for (let v = record.schemaVersion; v < definition.version; v++) {
      data = definition.upcasters[v](data, record.metadata);
    }
    const parsed = parseData(definition, data, `${what()} "${record.type}"`);
    // The same shape as a freshly appended record, so buffered and decoded reads agree.
    const { streamId, streamVersion, position, timestamp, id } = record;
    return new StoredRecordObject(record.type, parsed, record.metadata, definition.version, streamId, streamVersion, position, timestamp, id) as RecordedEvent<E>;
  }

  #parse(definition: EventDefinition, data: unknown, what: string | number): unknown {
    const result = definition.schema["~standard"].validate(data);
    // Labels are built only on failure (the append hot path).
    if (result instanceof Promise || result.issues) return validateWith(definition.schema, data, `${labelOf(what)} "${definition.type}"`, "data");
    return result.value;
  }

  #definition(type: unknown, path: string): EventDefinition {
    const definition = typeof type === "string" ? this.#definitions.get(type) : undefined;
    if (definition === undefined) {
      const known = [...this.#definitions.keys()].join(", ");
      throw new ValidationError("event", [
        { path, message: `unknown event type ${JSON.stringify(type)} (known: ${known})` },
      ]);
    }
    return definition;
  }
}

/** How messages name an event being appended: a label, or its index in the append. */
function labelOf(what: string | number): string {
  return typeof what === "number" ? `events[${what}]` : what;
}

/** Builds the registry of the given event definitions. */
export function eventRegistry<const D extends readonly EventDefinition[]>(
  ...definitions: D
): EventRegistry<EventOf<D[number]>> {
  return new EventRegistry(definitions);
}
