/**
 * ECS task placement as plugins of berth's scheduler (plugin.ts), the cluster query language
 * (query.ts), placement annotations (spec.ts) and container instance attributes (attributes.ts).
 * The plugin is in the scheduler's in-tree registry and default profile
 * (pkg/scheduler/plugins/registry.ts).
 */
export * from './attributes.js';
export * from './plugin.js';
export * from './query.js';
export * from './spec.js';
