import t from 'tap';
import type { Pod } from '../../api/types.js';
import { makeNode, makePod } from '../../testing/builders.js';
import { nodeInfo, runFilter } from '../test-helpers.js';
import { ERR_REASON_PORTS, NodePorts } from './node-ports.js';

const withPort = (name: string, hostPort: number, protocol: 'TCP' | 'UDP' = 'TCP', hostIP?: string): Pod =>
  makePod(name).spec((s) => (s.containers[0]!.ports = [{ containerPort: 80, hostPort, protocol, ...(hostIP ? { hostIP } : {}) }])).obj();

t.test('NodePorts: a host port (protocol, IP) may be used once per node', async (t) => {
  const plugin = new NodePorts();
  const n = makeNode('n1').obj();
  const cases: [string, Pod, Pod | undefined, string[]][] = [
    ['free node', withPort('a', 8080), undefined, []],
    ['same port and protocol', withPort('a', 8080), withPort('b', 8080), [ERR_REASON_PORTS]],
    ['same port, other protocol', withPort('a', 8080, 'UDP'), withPort('b', 8080), []],
    ['other port', withPort('a', 8081), withPort('b', 8080), []],
    ['distinct host IPs do not conflict', withPort('a', 8080, 'TCP', '10.0.0.1'), withPort('b', 8080, 'TCP', '10.0.0.2'), []],
    ['0.0.0.0 conflicts with every IP', withPort('a', 8080, 'TCP', '10.0.0.1'), withPort('b', 8080), [ERR_REASON_PORTS]],
    ['a pod without host ports always fits', makePod('a').obj(), withPort('b', 8080), []],
  ];
  for (const [name, pod, existing, want] of cases) {
    t.same(runFilter(plugin, pod, existing ? nodeInfo(n, existing) : nodeInfo(n)).reasons, want, name);
  }
});
