export { Informer, objectKey, type InformerEvent, type InformerOptions } from "./informer.ts";
export { IndexedCache, UnknownIndexError, namespaceIndex, type IndexFunction } from "./indexed-cache.ts";
export {
  ExponentialBackoff,
  TokenBucket,
  MaxOfRateLimiter,
  defaultRateLimiter,
  type RateLimiter,
  type BackoffOptions,
  type TokenBucketOptions,
} from "./rate-limiter.ts";
export { WorkQueue, type WorkQueueOptions } from "./work-queue.ts";
export {
  Controller,
  TerminalError,
  ownKey,
  type ControllerOptions,
  type ControllerMetrics,
  type EventMapper,
  type EventSource,
  type ReconcileResult,
  type Reconciler,
} from "./controller.ts";
export {
  LocalLeaderElector,
  LeadershipLostError,
  defaultIdentity,
  microTime,
  type LeaderCallbacks,
  type LeaderElector,
  type LeaseRecord,
  type LocalLeaderElectorOptions,
} from "./leader-election.ts";
export {
  EtcdLeaderElector,
  type EtcdConnection,
  type EtcdLeaderElectorOptions,
} from "./etcd-leader-election.ts";
