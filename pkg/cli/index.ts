/**
 * The `berth` CLI: `buildProgram(io)` gives the commander program (apply, get, describe, delete,
 * scale, version, fleet); `runCli(argv, io)` runs one command line and returns its exit code.
 */
export { buildProgram, runCli, normalizeArgs } from './program.js';
export type { IO } from './types.js';
export { CliError, ReportedError, errorLine } from './errors.js';
export { TabWriter, GET_TABS, DESCRIBE_TABS, type TabWriterOptions } from './tabwriter.js';
export { parseManifest, readManifests, findField, ManifestSyntaxError, type ManifestDoc } from './manifest.js';
export { podRequests, podLimits } from './podresources.js';
export { collectFleet, renderFleet, type FleetNode, type FleetSummary } from './fleet.js';
