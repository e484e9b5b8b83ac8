/**
 * Where consumers (see consumer.ts) keep what must survive a restart: each consumer's
 * checkpoint, the lease that lets one member of a group run at a time, and the events it
 * parked. Each storage adapter brings one (`storage.consumers`): in memory, in the WAL's
 * directory, in PostgreSQL or SQLite tables.
 */

/** An event a consumer gave up on (its `park` policy), kept to be looked at and replayed. */
export interface ParkedEvent {
  /** Its global position. */
  position: number;
  /** Its stream. */
  streamId: string;
  /** Its type. */
  type: string;
  /** The handler's last error, as text. */
  error: string;
  /** When it was parked (ms since the epoch). */
  parkedAt: number;
}

/** Checkpoints, leases and parked events of consumers. */
export interface ConsumerStore {
  /** The last position consumer `name` went past (0 if none). */
  load(name: string): Promise<number>;
  /**
   * Moves the checkpoint of `name` to `position`, only while `member` holds the group's
   * lease; false (nothing moved) if it does not: a member that lost its lease must not move
   * the checkpoint under the one that took over.
   */
  save(name: string, member: string, position: number): Promise<boolean>;
  /** Takes (if free or expired) or renews the lease of group `name` for `member`, for `ttlMs`; whether it holds it. */
  acquire(name: string, member: string, ttlMs: number): Promise<boolean>;
  /** Gives up the lease, if `member` holds it. */
  release(name: string, member: string): Promise<void>;
  /** Keeps an event consumer `name` gave up on. */
  park(name: string, event: ParkedEvent): Promise<void>;
  /** The events consumer `name` parked, oldest first. */
  parked(name: string): Promise<ParkedEvent[]>;
}

/**
 * Group leases held in this process (the memory and file stores': their logs have one
 * process). The rule every store applies: free, expired or already `member`'s, a lease is
 * taken (or renewed) until now + ttl; held by another member, it is not.
 */
export class ProcessLeases {
  readonly #leases = new Map<string, { member: string; until: number }>();

  /** Whether `member` holds the lease of group `name`. */
  holds(name: string, member: string): boolean {
    return this.#leases.get(name)?.member === member;
  }

  acquire(name: string, member: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const lease = this.#leases.get(name);
    if (lease !== undefined && lease.member !== member && lease.until > now) return Promise.resolve(false);
    this.#leases.set(name, { member, until: now + ttlMs });
    return Promise.resolve(true);
  }

  release(name: string, member: string): Promise<void> {
    if (this.holds(name, member)) this.#leases.delete(name);
    return Promise.resolve();
  }
}

/**
 * Consumers in memory (the memory adapter's): checkpoints and parked events live as long
 * as the log object; leases are this process's.
 */
export class MemoryConsumerStore implements ConsumerStore {
  readonly #positions = new Map<string, number>();
  readonly #leases = new ProcessLeases();
  readonly #parked = new Map<string, ParkedEvent[]>();

  load(name: string): Promise<number> {
    return Promise.resolve(this.#positions.get(name) ?? 0);
  }

  save(name: string, member: string, position: number): Promise<boolean> {
    if (!this.#leases.holds(name, member)) return Promise.resolve(false);
    this.#positions.set(name, position);
    return Promise.resolve(true);
  }

  acquire(name: string, member: string, ttlMs: number): Promise<boolean> {
    return this.#leases.acquire(name, member, ttlMs);
  }

  release(name: string, member: string): Promise<void> {
    return this.#leases.release(name, member);
  }

  park(name: string, event: ParkedEvent): Promise<void> {
    let parked = this.#parked.get(name);
    if (parked === undefined) this.#parked.set(name, parked = []);
    parked.push({ ...event });
    return Promise.resolve();
  }

  parked(name: string): Promise<ParkedEvent[]> {
    return Promise.resolve((this.#parked.get(name) ?? []).map((event) => ({ ...event })));
  }
}
