/** The controller runtime: Manager, Runnable, Reconciler, work queue, events, logging. */
export * from './manager.js';
export { WorkQueue, TokenBucket, type WorkQueueOptions } from './workqueue.js';
export { EventRecorder } from './events.js';
export { createLogger, silentLogger, type Logger } from './logger.js';
export { LeaderElector, type LeaderElectionOptions } from './leaderelection.js';
