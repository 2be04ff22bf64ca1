/**
 * What the user typed to name resources, resolved through discovery as kubectl does:
 * `KIND[,KIND…] [NAME…]`, `KIND/NAME …`, and the `all` category.
 */
import type { ResourceInfo } from '../api/resources.js';
import type { Client } from '../client/client.js';
import { CliError } from './errors.js';

export interface ResourceRequest {
  r: ResourceInfo;
  /** Names asked for; empty means "list". */
  names: string[];
}

/** Resolves `po,deploy` (or `all`) to served resources, in the order given, without duplicates. */
export async function resolveKinds(client: Client, spec: string): Promise<ResourceInfo[]> {
  const out: ResourceInfo[] = [];
  const seen = new Set<string>();
  const add = (r: ResourceInfo): void => {
    const key = `${r.group}/${r.resource}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(r);
    }
  };
  for (const part of spec.split(',')) {
    const name = part.trim();
    if (!name) continue;
    if (name === 'all') {
      for (const r of (await client.resources()).category('all')) add(r);
      continue;
    }
    add(await client.resolve(name));
  }
  return out;
}

/**
 * Resolves command arguments: `KIND[,KIND…] [NAME…]` or `KIND/NAME …` (not mixed).
 * Throws CliError with `missing` when no kind is given, UnknownResourceError for an unknown kind.
 */
export async function resolveArgs(client: Client, args: string[], missing: string): Promise<ResourceRequest[]> {
  if (args.length === 0) throw new CliError(missing);
  if (args.some((a) => a.includes('/'))) {
    if (!args.every((a) => a.includes('/'))) {
      throw new CliError("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'berth get resource/<resource_name>' instead of 'berth get resource resource/<resource_name>'");
    }
    const out: ResourceRequest[] = [];
    for (const a of args) {
      const i = a.indexOf('/');
      const kind = a.slice(0, i);
      const name = a.slice(i + 1);
      if (!kind || !name) throw new CliError(`arguments in resource/name form must have a single resource and name`);
      const r = await client.resolve(kind);
      const existing = out.find((x) => x.r.group === r.group && x.r.resource === r.resource);
      if (existing) existing.names.push(name);
      else out.push({ r, names: [name] });
    }
    return out;
  }
  const kinds = await resolveKinds(client, args[0]!);
  const names = args.slice(1);
  return kinds.map((r) => ({ r, names: [...names] }));
}
