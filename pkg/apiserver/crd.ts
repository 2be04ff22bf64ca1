/**
 * CustomResourceDefinitions (apiextensions.k8s.io/v1): a stored CRD is served at once under its
 * group and versions (discovery, REST, watch, printer columns, selectable fields, status and
 * scale subresources); deleting it deletes its objects first (the
 * `customresourcecleanup.apiextensions.k8s.io` finalizer), then stops serving it.
 */
import { fieldInvalid, fieldRequired, type FieldError } from '../api/errors.js';
import { rfc3339 } from '../clock/clock.js';
import type { ResourceInfo, ResourceRegistry } from '../api/resources.js';
import { ALL_VERBS } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import { validateObjectMeta } from '../api/validation.js';
import { admitCustomResource, compileSchema, structuralErrors, type JSONSchemaProps, type VersionSchema } from './crdschema.js';
import type { CommitEvent, ObjectStore } from './store.js';
import { crdPrinter, type TableRegistry } from './tables.js';

export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

interface CrdVersion {
  name: string;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  served?: boolean;
  storage?: boolean;
  subresources?: { status?: object; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
  selectableFields?: { jsonPath: string }[];
  additionalPrinterColumns?: { name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string }[];
}

export interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[]; categories?: string[] };
  versions: CrdVersion[];
}

/** The served resources a CRD defines, one per served version. */
export function crdResources(crd: KubeObject): ResourceInfo[] {
  const spec = crd.spec as CrdSpec;
  return spec.versions
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: spec.group,
      version: v.name,
      resource: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      kind: spec.names.kind,
      listKind: spec.names.listKind ?? `${spec.names.kind}List`,
      namespaced: spec.scope !== 'Cluster',
      shortNames: spec.names.shortNames ?? [],
      categories: spec.names.categories ?? [],
      verbs: ALL_VERBS,
      subresources: [...(v.subresources?.status ? ['status'] : []), ...(v.subresources?.scale ? ['scale'] : [])],
      selectableFields: (v.selectableFields ?? []).map((f) => f.jsonPath.replace(/^\./, '')),
      crd: crd.metadata.name!,
      hasGeneration: true,
      ...(v.subresources?.scale ? { scale: v.subresources.scale } : {}),
    }));
}

/** Validates a CRD as the apiextensions API server does (the parts berth relies on). */
export function validateCrd(crd: KubeObject): FieldError[] {
  const errs = validateObjectMeta(crd.metadata, false);
  const spec = crd.spec as Partial<CrdSpec> | undefined;
  if (!spec) return [...errs, fieldRequired('spec')];
  if (!spec.group) errs.push(fieldRequired('spec.group'));
  if (!spec.names?.plural) errs.push(fieldRequired('spec.names.plural'));
  if (!spec.names?.kind) errs.push(fieldRequired('spec.names.kind'));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') errs.push({ type: 'FieldValueNotSupported', field: 'spec.scope', detail: `Unsupported value: "${spec.scope ?? ''}": supported values: "Cluster", "Namespaced"` });
  if (spec.group && spec.names?.plural && crd.metadata.name !== `${spec.names.plural}.${spec.group}`) {
    errs.push(fieldInvalid('metadata.name', crd.metadata.name, 'must be spec.names.plural+"."+spec.group'));
  }
  const versions = spec.versions ?? [];
  if (!versions.length) errs.push(fieldRequired('spec.versions', 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => v.storage).length !== 1) errs.push(fieldInvalid('spec.versions', versions.map((v) => v.name), 'must have exactly one version marked as storage version'));
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    if (!v.name) errs.push(fieldRequired(`spec.versions[${i}].name`));
    else if (seen.has(v.name)) errs.push({ type: 'FieldValueDuplicate', field: `spec.versions[${i}].name`, detail: `Duplicate value: ${JSON.stringify(v.name)}` });
    seen.add(v.name);
    if (!v.schema?.openAPIV3Schema) errs.push(fieldRequired(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
    else errs.push(...structuralErrors(v.schema.openAPIV3Schema, `spec.versions[${i}].schema.openAPIV3Schema`));
  });
  if (versions.length && versions.every((v) => v.served === false)) errs.push(fieldInvalid('spec.versions', versions.map((v) => v.name), 'must have at least one served version'));
  return errs;
}

/**
 * Keeps the registry and printers in step with stored CRDs. `start` loads the CRDs already
 * stored (after a restart) and follows every later write through the store's commit hook.
 */
export class CustomResourceManager {
  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly tables: TableRegistry,
  ) {}

  private get crdInfo(): ResourceInfo {
    return this.registry.get('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  }

  async start(): Promise<void> {
    this.store.setHooks('apiextensions.k8s.io', 'CustomResourceDefinition', {
      default: (crd) => {
        crd.metadata.finalizers ??= [];
        if (!crd.metadata.deletionTimestamp && !crd.metadata.finalizers.includes(CRD_CLEANUP_FINALIZER)) crd.metadata.finalizers.push(CRD_CLEANUP_FINALIZER);
        const spec = crd.spec as CrdSpec | undefined;
        for (const v of spec?.versions ?? []) v.served ??= true;
      },
      validate: validateCrd,
    });
    // Synchronous for every other kind: the store runs its commit listeners on every write.
    this.store.onCommit((e) => (e.resource.kind !== 'CustomResourceDefinition' || e.resource.group !== 'apiextensions.k8s.io' ? undefined : this.crdCommitted(e)));
    const list = await this.store.list(this.crdInfo, undefined);
    for (const crd of list.items) this.serve(crd);
  }

  /** A CustomResourceDefinition was written: serve, re-serve or stop serving its resources. */
  private async crdCommitted(e: CommitEvent): Promise<void> {
    if (e.type === 'DELETED') {
      this.unserve(e.object);
      return;
    }
    if (e.oldObject) this.unserve(e.oldObject);
    this.serve(e.object);
    if (e.object.metadata.deletionTimestamp) await this.cleanup(e.object);
    else await this.markEstablished(e.object);
  }

  private serve(crd: KubeObject): void {
    const spec = crd.spec as CrdSpec;
    this.setSchemaHooks(crd);
    for (const r of crdResources(crd)) {
      this.registry.add(r);
      const v = spec.versions.find((x) => x.name === r.version);
      this.tables.set(r.group, r.kind, crdPrinter(v?.additionalPrinterColumns ?? []));
    }
  }

  /**
   * Custom resources are pruned, defaulted and validated against the schema of the version they
   * are written in (`apiVersion`), their metadata as any object's.
   */
  private setSchemaHooks(crd: KubeObject): void {
    const spec = crd.spec as CrdSpec;
    const schemas = new Map<string, VersionSchema>();
    for (const v of spec.versions) {
      if (!v.schema?.openAPIV3Schema) continue;
      try {
        schemas.set(v.name, compileSchema(v.schema.openAPIV3Schema));
      } catch {
        // validateCrd refuses such a schema; one stored before has no validation.
      }
    }
    const pick = (obj: KubeObject): VersionSchema | undefined => schemas.get((obj.apiVersion ?? '').slice(spec.group.length + 1));
    this.store.setHooks(spec.group, spec.names.kind, {
      default: (obj) => {
        const vs = pick(obj);
        if (vs) admitCustomResource(obj, vs);
      },
      validate: (obj) => {
        const errs = validateObjectMeta(obj.metadata, spec.scope !== 'Cluster');
        const vs = pick(obj);
        if (vs) errs.push(...admitCustomResource(obj, vs));
        return errs;
      },
    });
  }

  private unserve(crd: KubeObject): void {
    const spec = crd.spec as CrdSpec;
    this.store.setHooks(spec.group, spec.names.kind, {});
    for (const r of crdResources(crd)) {
      this.registry.remove(r);
      this.tables.delete(r.group, r.kind);
    }
  }

  private async markEstablished(crd: KubeObject): Promise<void> {
    const spec = crd.spec as CrdSpec;
    const status = (crd.status ?? {}) as { conditions?: { type: string; status: string }[] };
    if (status.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    const now = rfc3339(this.store.clock.now());
    const next = {
      ...crd,
      status: {
        acceptedNames: spec.names,
        storedVersions: spec.versions.filter((v) => v.storage).map((v) => v.name),
        conditions: [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
          { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
        ],
      },
    };
    await this.store.update(this.crdInfo, undefined, crd.metadata.name!, next, { subresource: 'status' });
  }

  /** Deletes every object of the CRD, then lets the CRD go. */
  private async cleanup(crd: KubeObject): Promise<void> {
    if (!(crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) return;
    const [r] = crdResources(crd);
    if (r) {
      const items = (await this.store.list(r, undefined)).items;
      for (const o of items) {
        await this.store.delete(r, o.metadata.namespace, o.metadata.name!).catch(() => undefined);
        // Objects held by their own finalizers are released: the type is going away.
        const left = await this.store.tryGet(r, o.metadata.namespace, o.metadata.name!);
        if (left) await this.store.update(r, o.metadata.namespace, o.metadata.name!, { ...left, metadata: { ...left.metadata, finalizers: [] } }).catch(() => undefined);
      }
    }
    const fresh = await this.store.tryGet(this.crdInfo, undefined, crd.metadata.name!);
    if (!fresh) return;
    fresh.metadata.finalizers = (fresh.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
    await this.store.update(this.crdInfo, undefined, crd.metadata.name!, fresh);
  }
}
