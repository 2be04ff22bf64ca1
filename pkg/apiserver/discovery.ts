/**
 * API discovery documents (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api):
 * the legacy `APIVersions`/`APIGroupList`/`APIResourceList` and the aggregated
 * `APIGroupDiscoveryList` (apidiscovery.k8s.io v2 and v2beta1) kubectl 1.27+ prefers.
 */
import { groupVersion, type ResourceInfo, type ResourceRegistry } from '../api/resources.js';

interface SubresourceInfo {
  kind: { group: string; version: string; kind: string };
  verbs: string[];
}

/** The response kind and verbs of each subresource, as Kubernetes serves them. */
function subresourceInfo(r: ResourceInfo, sub: string): SubresourceInfo {
  const self = { group: r.group, version: r.version, kind: r.kind };
  switch (sub) {
    case 'status':
      return { kind: self, verbs: ['get', 'patch', 'update'] };
    case 'scale':
      return { kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] };
    case 'log':
      return { kind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get'] };
    case 'binding':
      return { kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] };
    case 'eviction':
      return { kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] };
    case 'exec':
      return { kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, verbs: ['create', 'get'] };
    case 'attach':
      return { kind: { group: '', version: 'v1', kind: 'PodAttachOptions' }, verbs: ['create', 'get'] };
    case 'portforward':
      return { kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' }, verbs: ['create', 'get'] };
    case 'finalize':
      return { kind: self, verbs: ['update'] };
    default:
      return { kind: self, verbs: ['get'] };
  }
}

/** `GET /api` (legacy form). */
export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** `GET /apis` (legacy form). */
export function apiGroupList(reg: ResourceRegistry): object {
  const groups = [...reg.groups().entries()].filter(([g]) => g !== '').map(([name, versions]) => apiGroup(name, versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** `GET /apis/<group>`. */
export function apiGroup(name: string, versions: string[]): object {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: vs, preferredVersion: vs[0] };
}

/** `GET /api/v1`, `GET /apis/<group>/<version>`: the resources and their subresources. */
export function apiResourceList(reg: ResourceRegistry, group: string, version: string): object | undefined {
  const rs = reg.all().filter((r) => r.group === group && r.version === version);
  if (!rs.length) return undefined;
  const resources: object[] = [];
  for (const r of rs) {
    resources.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
      storageVersionHash: hash(`${r.group}/${r.version}/${r.resource}`),
    });
    for (const sub of r.subresources) {
      const s = subresourceInfo(r, sub);
      resources.push({
        name: `${r.resource}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(s.kind.group !== r.group || s.kind.version !== r.version ? { group: s.kind.group, version: s.kind.version } : {}),
        kind: s.kind.kind,
        verbs: s.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources };
}

/**
 * The aggregated discovery document. `core` selects `/api` (one item named "") or `/apis`
 * (every other group). `apiVersion` is `apidiscovery.k8s.io/v2` or `/v2beta1`, as requested.
 */
export function aggregatedDiscovery(reg: ResourceRegistry, core: boolean, apiVersion: string): object {
  const items: object[] = [];
  for (const [group, versions] of reg.groups()) {
    if ((group === '') !== core) continue;
    items.push({
      metadata: { name: group, creationTimestamp: null },
      versions: versions.map((version) => ({
        version,
        resources: reg
          .all()
          .filter((r) => r.group === group && r.version === version)
          .map((r) => ({
            resource: r.resource,
            responseKind: { group: r.group, version: r.version, kind: r.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.singular,
            verbs: r.verbs,
            ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
            ...(r.categories.length ? { categories: r.categories } : {}),
            ...(r.subresources.length
              ? {
                  subresources: r.subresources.map((sub) => {
                    const s = subresourceInfo(r, sub);
                    return { subresource: sub, responseKind: s.kind, verbs: s.verbs };
                  }),
                }
              : {}),
          })),
        freshness: 'Current',
      })),
    });
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion, metadata: {}, items };
}

/**
 * The aggregated media type a client asked for, if any: `v2` or `v2beta1`, read from an Accept
 * header such as `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,…`.
 */
export function wantsAggregated(accept: string | undefined): { version: string; mediaType: string } | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const params = Object.fromEntries(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.as === 'APIGroupDiscoveryList' && params.g === 'apidiscovery.k8s.io' && (params.v === 'v2' || params.v === 'v2beta1')) {
      return { version: params.v, mediaType: `application/json;g=apidiscovery.k8s.io;v=${params.v};as=APIGroupDiscoveryList` };
    }
  }
  return undefined;
}

function hash(s: string): string {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return Buffer.from(String(h >>> 0)).toString('base64').slice(0, 11);
}
