/**
 * The one small family of errors eventfold throws. Every error carries a stable `code`
 * so callers can branch without `instanceof` across module copies, and a message that
 * names what was wrong (the field, the stream, the file and offset).
 */
export type ErrorCode =
  | "VALIDATION"
  | "CONCURRENCY"
  | "UNKNOWN_STREAM"
  | "STREAM_DELETED"
  | "STORAGE"
  | "CLOSED"
  | "PROJECTION"
  | "FENCED"
  | "CONSUMER";

/** Base class of every error eventfold throws on purpose. */
export class EventfoldError extends Error {
  /** Which kind of error this is. */
  readonly code: ErrorCode;
  /** An error of kind `code`. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem found in an input: where (a dotted path) and what. */
export interface Issue {
  /** Where the problem is (a field path). */
  path: string;
  /** What is wrong there. */
  message: string;
}

/** A command, event or stored record failed its schema. Nothing was changed. */
export class ValidationError extends EventfoldError {
  /** Every problem found. */
  readonly issues: readonly Issue[];
  /** Bad `what`, for these reasons. */
  constructor(what: string, issues: readonly Issue[]) {
    const detail = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
    super("VALIDATION", `invalid ${what}: ${detail}`);
    this.issues = issues;
  }
}

/** An append's expected version did not match the stream. Nothing was appended. */
export class ConcurrencyError extends EventfoldError {
  /** The stream whose version did not match. */
  readonly streamId: string;
  /** The version the append expected. */
  readonly expected: unknown;
  /** The stream's actual version. */
  readonly actual: number;
  /** An append to `streamId` expected `expected` but found `actual`. */
  constructor(streamId: string, expected: unknown, actual: number) {
    super(
      "CONCURRENCY",
      `stream "${streamId}" is at version ${actual}, expected ${describeExpected(expected)}`,
    );
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

function describeExpected(expected: unknown): string {
  return typeof expected === "number" ? `version ${expected}` : String(expected);
}

/** A read or command named a stream that has no events. */
export class UnknownStreamError extends EventfoldError {
  /** The stream that has no events. */
  readonly streamId: string;
  /** `streamId` has no events. */
  constructor(streamId: string) {
    super("UNKNOWN_STREAM", `stream "${streamId}" does not exist`);
    this.streamId = streamId;
  }
}

/**
 * The stream was deleted (`EventStore.deleteStream`): it reads as gone and takes no more
 * appends. Nothing was appended.
 */
export class StreamDeletedError extends EventfoldError {
  /** The deleted stream. */
  readonly streamId: string;
  /** `streamId` was deleted. */
  constructor(streamId: string) {
    super("STREAM_DELETED", `stream "${streamId}" was deleted`);
    this.streamId = streamId;
  }
}

/**
 * The storage layer failed (I/O error, corruption, lock held). After a write or sync
 * failure the log is poisoned: every pending and later append is rejected with it.
 */
export class StorageError extends EventfoldError {
  /** The file involved, if any. */
  readonly file?: string;
  /** The byte offset in `file`, if any. */
  readonly offset?: number;
  /** A storage failure; `file` and `offset` point at the bytes involved. */
  constructor(message: string, options?: { cause?: unknown; file?: string; offset?: number }) {
    const where = options?.file === undefined
      ? ""
      : ` (${options.file}${options.offset === undefined ? "" : ` at offset ${options.offset}`})`;
    super("STORAGE", message + where, options);
    this.file = options?.file;
    this.offset = options?.offset;
  }
}

/** The store (or a subscription) was used after close. */
export class ClosedError extends EventfoldError {
  /** `what` is closed. */
  constructor(what: string) {
    super("CLOSED", `${what} is closed`);
  }
}

/**
 * An inline projection threw while applying the event at `position`. The append that
 * carried the event stands (it is in the log); the projection is faulted and receives no
 * more events, so its read model stays at the state before this event.
 */
export class ProjectionError extends EventfoldError {
  /** The projection that threw. */
  readonly projection: string;
  /** The global position of the event it failed on. */
  readonly position: number;
  /** Projection `projection` threw `cause` at `position`. */
  constructor(projection: string, position: number, cause: unknown) {
    super(
      "PROJECTION",
      `inline projection "${projection}" failed at position ${position} and is faulted: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
    this.projection = projection;
    this.position = position;
  }
}

/**
 * A replicated log refused this primary: another primary appended after the batch this
 * one expected to follow, or claimed a newer term (it was deposed). It writes no more;
 * restart it as a follower.
 */
export class FencedError extends EventfoldError {
  /** Why, naming the log and the terms or sequences. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("FENCED", message, options);
  }
}

/** A consumer's handler still failed on an event after its retries; `policy` says what was done with it. */
export class ConsumerError extends EventfoldError {
  /** The consumer. */
  readonly consumer: string;
  /** Where the event is. */
  readonly position: number;
  /** How many times the handler was called with it. */
  readonly attempts: number;
  /** What the consumer did: stopped, skipped the event, or parked it. */
  readonly policy: "stop" | "skip" | "park";
  /** Consumer `consumer` failed `attempts` times on `event`; `cause` is the last error. */
  constructor(
    consumer: string,
    event: { position: number; streamId: string; type: string },
    attempts: number,
    policy: "stop" | "skip" | "park",
    cause: unknown,
  ) {
    const done = policy === "stop" ? "stopped" : policy === "skip" ? "skipped it" : "parked it";
    super(
      "CONSUMER",
      `consumer "${consumer}" failed on ${event.type} at position ${event.position} (${event.streamId}) after ${attempts} attempt(s): ` +
        `${(cause as Error)?.message ?? String(cause)}; ${done}`,
      { cause },
    );
    this.consumer = consumer;
    this.position = event.position;
    this.attempts = attempts;
    this.policy = policy;
  }
}
