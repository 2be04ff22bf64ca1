import t from 'tap';
import { authorize, bootstrapPolicy, forbiddenMessage, parseTokenFile, requestAttributes, type RbacObjects, type UserInfo } from './index.js';

t.test('the static token file: token,user,uid,"groups", errors name the line', async (t) => {
  const m = parseTokenFile('# comment\nabc,alice,1001,"dev,ops"\n\nxyz,bob,1002\n', 'tokens.csv');
  t.same(m.get('abc'), { name: 'alice', uid: '1001', groups: ['dev', 'ops', 'system:authenticated'] });
  t.same(m.get('xyz'), { name: 'bob', uid: '1002', groups: ['system:authenticated'] });
  t.throws(() => parseTokenFile('abc,alice\n', 'tokens.csv'), { message: /tokens\.csv:1: want token,user,uid/ });
  t.throws(() => parseTokenFile('a,b,c\na,d,e\n', 'f'), { message: /f:2: duplicate token/ });
  t.throws(() => parseTokenFile('a,b,c,"x\n', 'f'), { message: /f:1: unterminated quote/ });
});

t.test('request attributes as kube-apiserver derives them', async (t) => {
  t.match(requestAttributes('GET', '/api/v1/namespaces/a/secrets'), { verb: 'list', resource: 'secrets', namespace: 'a', apiGroup: '' });
  t.match(requestAttributes('GET', '/api/v1/namespaces/a/secrets/s1'), { verb: 'get', name: 's1' });
  t.match(requestAttributes('GET', '/api/v1/namespaces/a/pods?watch=true'), { verb: 'watch' });
  t.match(requestAttributes('DELETE', '/apis/apps/v1/namespaces/a/deployments'), { verb: 'deletecollection', apiGroup: 'apps' });
  t.match(requestAttributes('PATCH', '/apis/apps/v1/namespaces/a/deployments/web/scale'), { verb: 'patch', subresource: 'scale' });
  t.match(requestAttributes('GET', '/api/v1/namespaces/a/pods/p/exec?command=sh'), { verb: 'create', subresource: 'exec' });
  t.match(requestAttributes('GET', '/api/v1/namespaces/a'), { verb: 'get', resource: 'namespaces', name: 'a' });
  t.same(requestAttributes('GET', '/version'), { verb: 'get', resourceRequest: false, path: '/version' });
});

t.test('RBAC: a Role binds in its namespace only; ClusterRoles bind everywhere; masters pass', async (t) => {
  const alice: UserInfo = { name: 'alice', groups: ['system:authenticated'] };
  const policy = bootstrapPolicy();
  const rbac: RbacObjects = {
    roles: [{ metadata: { name: 'secret-reader', namespace: 'team-a' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }] }],
    clusterRoles: policy.clusterRoles.map((r) => ({ metadata: { name: r.name }, rules: r.rules })),
    roleBindings: [
      { metadata: { namespace: 'team-a' }, roleRef: { kind: 'Role', name: 'secret-reader' }, subjects: [{ kind: 'User', name: 'alice' }] },
      { metadata: { namespace: 'team-b' }, roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'alice' }] },
    ],
    clusterRoleBindings: policy.clusterRoleBindings.map((b) => ({ roleRef: { kind: 'ClusterRole', name: b.role }, subjects: b.subjects })),
  };
  const can = (verb: string, resource: string, namespace?: string, name?: string) => authorize(alice, { verb, resourceRequest: true, apiGroup: '', resource, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) }, rbac).allowed;
  t.ok(can('list', 'secrets', 'team-a'));
  t.ok(can('get', 'secrets', 'team-a', 's1'));
  t.notOk(can('delete', 'secrets', 'team-a', 's1'), 'the Role does not grant delete');
  t.notOk(can('get', 'secrets', 'team-b', 's1'), 'view does not read Secrets');
  t.ok(can('list', 'pods', 'team-b'), 'view reads pods');
  t.notOk(can('list', 'pods', 'team-c'));
  t.notOk(can('list', 'pods'), 'nothing at the cluster scope');
  t.ok(authorize(alice, { verb: 'get', resourceRequest: false, path: '/apis/apps/v1' }, rbac).allowed, 'discovery for every authenticated user');
  t.ok(authorize({ name: 'root', groups: ['system:masters'] }, { verb: 'delete', resourceRequest: true, resource: 'nodes', apiGroup: '' }, rbac).allowed);
  const sa: UserInfo = { name: 'system:serviceaccount:team-a:bot', groups: [] };
  rbac.roleBindings.push({ metadata: { namespace: 'team-a' }, roleRef: { kind: 'Role', name: 'secret-reader' }, subjects: [{ kind: 'ServiceAccount', name: 'bot', namespace: 'team-a' }] });
  t.ok(authorize(sa, { verb: 'list', resourceRequest: true, apiGroup: '', resource: 'secrets', namespace: 'team-a' }, rbac).allowed, 'service account subjects');
  t.equal(
    forbiddenMessage(alice, { verb: 'get', resourceRequest: true, apiGroup: '', resource: 'secrets', namespace: 'team-b', name: 's1' }),
    'secrets "s1" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "team-b"',
  );
});
