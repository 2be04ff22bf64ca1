/** The controller runtime: Manager, Runnable, Reconciler, work queue, events, logging. */
export * from './manager.js';
export { WorkQueue, type WorkQueueOptions } from './workqueue.js';
export { EventRecorder } from './events.js';
export { createLogger, silentLogger, type Logger } from './logger.js';
export { LeaderElector, LeaderElectionLostError, type LeaderElectionOptions } from './leaderelection.js';
