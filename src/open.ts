/**
 * Where the package is assembled: the core's event store with the memory adapter as its
 * default storage. The core itself names no adapter.
 */
import type { Event } from "./core/events.ts";
import { EventStore, type EventStoreOptions } from "./core/event-store.ts";
import type { StorageAdapter } from "./core/storage.ts";
import { memoryStorage } from "./adapter/memory/index.ts";

/** Options of `openEventStore`: the event store's, with `storage` defaulting to memory. */
export type OpenEventStoreOptions<E extends Event> = Omit<EventStoreOptions<E>, "storage"> & {
  /** Where the log is kept; defaults to a fresh memory adapter. */
  storage?: StorageAdapter;
};

/** Opens storage, rebuilds the indexes from the log and returns a ready store. */
export async function openEventStore<E extends Event>(options: OpenEventStoreOptions<E>): Promise<EventStore<E>> {
  const store = new EventStore<E>({ ...options, storage: options?.storage ?? memoryStorage() });
  await store.open();
  return store;
}
