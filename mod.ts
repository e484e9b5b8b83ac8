/**
 * eventfold: event sourcing for Deno and Bun.
 *
 * The runtime-agnostic core: events (zod schemas, upcasters), deciders, the event store
 * and its storage-adapter interface, the command handler, projections, snapshots and
 * the memory adapter. File storage lives in `src/adapter/<runtime>`; test helpers in
 * `src/testing`.
 * @module
 */
export * from "./src/core/errors.ts";
export {
  defineEvent,
  type DefineEventOptions,
  type Event,
  type EventDefinition,
  type EventOf,
  EventRegistry,
  eventRegistry,
  type Metadata,
  type RecordedEvent,
  type RecordedInfo,
  type Schema,
  type SchemaInput,
  type SchemaOutput,
  type StoredRecord,
  type Upcaster,
} from "./src/core/events.ts";
export { type Decider, fold } from "./src/core/decider.ts";
export { type EventFilter } from "./src/core/event-filter.ts";
export { type Ended, type Observer, type StorageStats, type SyncedGroup } from "./src/core/observer.ts";
export { Consumer, type ConsumerOptions, type FailurePolicy } from "./src/core/consumer.ts";
export { type ConsumerStore, MemoryConsumerStore, type ParkedEvent } from "./src/core/consumer-store.ts";
export {
  type AppendOptions,
  type AppendResult,
  EventStore,
  type EventStoreOptions,
  type ExpectedVersion,
  type InlineProjection,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StreamRemovalResult,
} from "./src/core/event-store.ts";
export { openEventStore, type OpenEventStoreOptions } from "./src/open.ts";
export { DEFAULT_BUFFER_SIZE, EventBuffer, type HeldRecords } from "./src/core/event-buffer.ts";
export { type DurabilityMode, expectedVersionHolds, type IndexCheckpoint, type RecordReporter, type StorageAdapter } from "./src/core/storage.ts";
export { MemorySnapshotStore, type Snapshot, type SnapshotStore } from "./src/core/snapshots.ts";
export { Subscription, type SubscriptionOptions } from "./src/core/subscription.ts";
export {
  type BatchResult,
  causedBy,
  CommandHandler,
  type CommandHandlerOptions,
  createCommandHandler,
  type ExecuteResult,
  type HandleOptions,
  type SnapshotPolicy,
} from "./src/core/command-handler.ts";
export {
  CatchUpProjection,
  type CatchUpOptions,
  type Checkpoint,
  type CheckpointStore,
  inlineProjection,
  type InlineProjectionOf,
  MemoryCheckpointStore,
  type ProjectionDefinition,
} from "./src/core/projections.ts";
export { createMemoryLog, MemoryAdapter, type MemoryLog, memoryStorage } from "./src/adapter/memory/index.ts";
