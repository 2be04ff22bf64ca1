/**
 * Validation of built-in kinds through the API server, with Kubernetes's wording (the text
 * kubectl prints after `The Deployment "web" is invalid: `): names (RFC 1123 subdomain, RFC 1123
 * label for namespaces, RFC 1035 label for Services), labels, a selector that must match its
 * template, quantities (a malformed one fails decoding with 400, as resource.Quantity does; a
 * negative one is invalid at `requests[cpu]`), requests above limits, and required fields.
 * Nothing invalid is stored.
 */
import t from 'tap';
import type { KubeObject } from './types.js';
import { Kinds } from '../client/client.js';
import { startTestApi } from '../testing/api.js';

const api = await startTestApi();
t.teardown(() => api.stop());

const deployment = (edit: (d: { metadata: Record<string, unknown>; spec: { selector?: unknown; template: { metadata: { labels: Record<string, string> }; spec: { containers: Record<string, unknown>[] } } } }) => void): KubeObject => {
  const d = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' } as Record<string, unknown>,
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } } as unknown, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] as Record<string, unknown>[] } } },
  };
  edit(d);
  return d as unknown as KubeObject;
};

const refused = (obj: KubeObject, expected: { code: number; reason: string; message: string | RegExp }) => t.rejects(api.client.create(obj), expected, typeof expected.message === 'string' ? expected.message : expected.message.source);

t.test('names', async () => {
  await refused(deployment((d) => (d.metadata.name = 'Web_1')), {
    code: 422,
    reason: 'Invalid',
    message:
      'Deployment.apps "Web_1" is invalid: metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')',
  });
  await refused({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team.a' } }, { code: 422, reason: 'Invalid', message: /^Namespace "team\.a" is invalid: metadata\.name: Invalid value: "team\.a": a lowercase RFC 1123 label must consist of/ });
  await refused({ apiVersion: 'v1', kind: 'Service', metadata: { name: '1web', namespace: 'default' }, spec: { ports: [{ port: 80 }] } } as KubeObject, {
    code: 422,
    reason: 'Invalid',
    message:
      'Service "1web" is invalid: metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character (e.g. \'my-name\',  or \'abc-123\', regex used for validation is \'[a-z]([-a-z0-9]*[a-z0-9])?\')',
  });
});

t.test('labels and a selector that must match the template', async () => {
  await refused(deployment((d) => (d.metadata.labels = { 'bad key!': 'ok' })), { code: 422, reason: 'Invalid', message: /^Deployment\.apps "web" is invalid: metadata\.labels: Invalid value: "bad key!": name part must consist of alphanumeric characters/ });
  await refused(deployment((d) => (d.metadata.labels = { tier: 'not valid!' })), { code: 422, reason: 'Invalid', message: /metadata\.labels: Invalid value: "not valid!": a valid label must be an empty string or consist of alphanumeric characters/ });
  await refused(deployment((d) => (d.spec.template.metadata.labels = { app: 'other' })), {
    code: 422,
    reason: 'Invalid',
    message: 'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
  });
  await refused(deployment((d) => delete d.spec.selector), { code: 422, reason: 'Invalid', message: 'Deployment.apps "web" is invalid: spec.selector: Required value' });
});

t.test('quantities and resource requirements', async () => {
  await refused(deployment((d) => (d.spec.template.spec.containers[0]!.resources = { requests: { cpu: 'lots' } })), {
    code: 400,
    reason: 'BadRequest',
    message: 'Deployment in version "v1" cannot be handled as a Deployment: quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'',
  });
  await refused(deployment((d) => (d.spec.template.spec.containers[0]!.resources = { requests: { cpu: '-1' } })), {
    code: 422,
    reason: 'Invalid',
    message: 'Deployment.apps "web" is invalid: spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0',
  });
  await refused(deployment((d) => (d.spec.template.spec.containers[0]!.resources = { requests: { cpu: '2' }, limits: { cpu: '1' } })), {
    code: 422,
    reason: 'Invalid',
    message: 'Deployment.apps "web" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
  });
  await refused(deployment((d) => (d.spec.template.spec.containers[0]!.resources = { limits: { widgets: '1' } })), { code: 422, reason: 'Invalid', message: /resources\.limits\[widgets\]: Invalid value: "widgets": must be a standard resource type or fully qualified/ });
});

t.test('required fields; the causes carry each field', async (t) => {
  await refused(deployment((d) => delete d.spec.template.spec.containers[0]!.image), { code: 422, reason: 'Invalid', message: 'Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: Required value' });
  await refused({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [] } } as KubeObject, { code: 422, reason: 'Invalid', message: 'Pod "p" is invalid: spec.containers: Required value' });
  const e = (await api.client.create(deployment((d) => (d.metadata.name = 'Bad_Name'))).catch((x: unknown) => x)) as { status: { details: { name: string; group: string; kind: string; causes: { reason: string; field: string }[] } } };
  t.match(e.status.details, { name: 'Bad_Name', group: 'apps', kind: 'Deployment', causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name' }] });
});

t.test('nothing invalid was stored; a valid object is', async (t) => {
  t.same((await api.client.list(Kinds.Deployment, { namespace: 'default' })).items, []);
  const ok = await api.client.create(deployment((d) => (d.spec.template.spec.containers[0]!.resources = { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: 1 } })));
  t.equal(ok.metadata.name, 'web');
});
