/**
 * Replication over NATS JetStream: `natsLog` (a JetStream stream as the replicated log),
 * `replicatedStorage` (a primary's WAL in the `replicated` durability mode) and
 * `Follower` (a hot standby, promoted on failover). See docs/scale-out.md.
 */
export { NatsLog, natsLog, type NatsLogOptions } from "./log.ts";
export { ReplicatedStorage, replicatedStorage, type ReplicationOptions } from "../../replication/replicated-storage.ts";
export { Follower, type FollowerOptions, type KeptLive, type ReplicaTarget } from "../../replication/follower.ts";
export type { Following, NewBatch, ReplicaBatch, ReplicaLog } from "../../replication/replica-log.ts";
export { FencedError } from "../../core/errors.ts";
export type { ReplicationTerm } from "../../wal/wal-storage.ts";
