/** Test helpers: builders and in-process clusters. */
export * from './builders.js';
export * from './api.js';
