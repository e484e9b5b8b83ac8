/**
 * Replication over NATS JetStream: `natsLog` (a JetStream stream as the replicated log),
 * `replicatedStorage` (a primary's WAL in the `replicated` durability mode) and
 * `Follower` (a hot standby, promoted on failover); `serveShard` and `Router` (order-book
 * symbols sharded over exchange processes, commands and market data on NATS subjects).
 * See docs/scale-out.md.
 */
export { NatsLog, natsLog, type NatsLogOptions } from "./log.ts";
export type { BatchEncoding } from "./compression.ts";
export { ReplicatedStorage, replicatedStorage, type ReplicationOptions } from "../../replication/replicated-storage.ts";
export { Follower, type FollowerOptions, type KeptLive, type ReplicaTarget } from "../../replication/follower.ts";
export type { Following, NewBatch, ReplicaBatch, ReplicaLog } from "../../replication/replica-log.ts";
export { FencedError } from "../../core/errors.ts";
export type { ReplicationTerm } from "../../wal/wal-storage.ts";
export {
  type CommandOutcome,
  type MarketData,
  Router,
  type RouterOptions,
  serveShard,
  type Shard,
  type ShardOptions,
} from "./shard.ts";
