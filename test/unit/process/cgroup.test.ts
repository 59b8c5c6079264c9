import { describe, expect, it } from 'vitest';

import { AttestorError } from '../../../src/errors.js';
import {
  MAX_CGROUP_BYTES,
  MAX_CGROUP_LINES,
  containerCgroupRoot,
  containerIdFromCgroups,
  containerIdFromPath,
  parseCgroupFile,
} from '../../../src/process/cgroup.js';
import type { ContainerMatch, RuntimeHint } from '../../../src/process/cgroup.js';
import { codeThrown } from '../../support/errors.js';
import { ID_A, ID_B, ID_C, POD_UID, POD_UID_US, lines } from './fixtures.js';

function locate(text: string): ContainerMatch | undefined {
  return containerIdFromCgroups(parseCgroupFile(text));
}

const codeOf = codeThrown;

describe('parseCgroupFile', () => {
  it('splits each line on the first two colons only', () => {
    expect(
      parseCgroupFile(
        lines(
          '12:pids:/docker/abc',
          '3:cpu,cpuacct:/',
          '1:name=systemd:/init.scope',
          `0::/system.slice/containerd.service/kubepods-besteffort-pod${POD_UID_US}.slice:cri-containerd:${ID_A}`,
        ),
      ),
    ).toEqual([
      { hierarchyId: '12', controllers: ['pids'], path: '/docker/abc' },
      { hierarchyId: '3', controllers: ['cpu', 'cpuacct'], path: '/' },
      { hierarchyId: '1', controllers: ['name=systemd'], path: '/init.scope' },
      {
        hierarchyId: '0',
        controllers: [],
        path: `/system.slice/containerd.service/kubepods-besteffort-pod${POD_UID_US}.slice:cri-containerd:${ID_A}`,
      },
    ]);
  });

  it('accepts a file without a trailing newline and ignores trailing empty lines', () => {
    expect(parseCgroupFile('0::/init.scope')).toEqual([{ hierarchyId: '0', controllers: [], path: '/init.scope' }]);
    expect(parseCgroupFile('0::/init.scope\n\n\n')).toHaveLength(1);
    expect(parseCgroupFile('')).toEqual([]);
  });

  it('handles Windows line endings and trailing whitespace', () => {
    const text = `12:pids:/docker/${ID_A}\r\n1:name=systemd:/docker/${ID_A}  \t\r\n0::/\r\n`;
    expect(parseCgroupFile(text)).toEqual([
      { hierarchyId: '12', controllers: ['pids'], path: `/docker/${ID_A}` },
      { hierarchyId: '1', controllers: ['name=systemd'], path: `/docker/${ID_A}` },
      { hierarchyId: '0', controllers: [], path: '/' },
    ]);
    expect(locate(text)?.id).toBe(ID_A);
  });

  it.each([
    ['no colon', 'garbage', 1],
    ['two fields', '0:/init.scope', 1],
    ['non-numeric hierarchy ID', 'x::/init.scope', 1],
    ['empty hierarchy ID', '::/init.scope', 1],
    ['relative path', '0::init.scope', 1],
    ['empty path', '0::', 1],
    ['empty line in the middle', '1:name=systemd:/\n\n0::/', 2],
    ['bad line after good ones', '2:cpu:/\n1:name=systemd:/\n0', 3],
  ])('rejects a malformed line: %s', (_name, text, lineNo) => {
    expect(() => parseCgroupFile(text)).toThrow(AttestorError);
    expect(() => parseCgroupFile(text)).toThrow(`malformed cgroup line ${lineNo}:`);
    expect(codeOf(() => parseCgroupFile(text))).toBe('PROC_UNREADABLE');
  });

  it('truncates and escapes the malformed line it echoes', () => {
    const bad = `${'z'.repeat(500)}\u0007`;
    let message = '';
    try {
      parseCgroupFile(bad);
    } catch (err) {
      message = err instanceof Error ? err.message : '';
    }
    expect(message).toMatch(/^malformed cgroup line 1: "z+\.\.\."$/);
    expect(message.length).toBeLessThan(120);
  });

  it(`accepts exactly ${MAX_CGROUP_LINES} lines and rejects one more`, () => {
    expect(parseCgroupFile(lines(...Array<string>(MAX_CGROUP_LINES).fill('0::/')))).toHaveLength(MAX_CGROUP_LINES);
    expect(() => parseCgroupFile(lines(...Array<string>(MAX_CGROUP_LINES + 1).fill('0::/')))).toThrow(/more than the 512 allowed/);
  });

  it(`accepts ${MAX_CGROUP_BYTES} bytes and rejects one more byte (UTF-8)`, () => {
    const exact = `0::/${'a'.repeat(MAX_CGROUP_BYTES - 5)}\n`;
    expect(exact.length).toBe(MAX_CGROUP_BYTES);
    expect(parseCgroupFile(exact)).toHaveLength(1);
    expect(codeOf(() => parseCgroupFile(`${exact}x`))).toBe('PROC_UNREADABLE');
    // Multi-byte characters count as bytes, not as UTF-16 code units.
    const wide = `0::/${'é'.repeat(MAX_CGROUP_BYTES / 2)}`;
    expect(wide.length).toBeLessThan(MAX_CGROUP_BYTES);
    expect(() => parseCgroupFile(wide)).toThrow(/larger than 65536 bytes/);
  });

  it('refuses huge input quickly', () => {
    const huge = `0::/docker/${ID_A}\n`.repeat(200_000); // ~15 MB
    const started = performance.now();
    expect(codeOf(() => parseCgroupFile(huge))).toBe('PROC_UNREADABLE');
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('stays fast on a maximal hostile line', () => {
    // One 64 KiB path of near-miss segments: hex runs, scope-lookalikes.
    const seg = `docker-${'f'.repeat(63)}.scope/${'a'.repeat(65)}/`;
    const path = `/${seg.repeat(Math.floor((MAX_CGROUP_BYTES - 10) / seg.length))}`;
    const text = `0::${path}`;
    const started = performance.now();
    expect(locate(text)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(200);
  });
});

interface Case {
  name: string;
  text: string;
  id: string | undefined;
  hint?: RuntimeHint;
  path?: string;
}

const CONTAINER_CASES: Case[] = [
  {
    name: 'cgroup v1 docker (cgroupfs driver), hybrid with a 0::/ line',
    text: lines(
      `12:pids:/docker/${ID_A}`,
      `11:hugetlb:/docker/${ID_A}`,
      `10:net_cls,net_prio:/docker/${ID_A}`,
      `9:perf_event:/docker/${ID_A}`,
      `8:blkio:/docker/${ID_A}`,
      `7:freezer:/docker/${ID_A}`,
      `6:devices:/docker/${ID_A}`,
      `5:memory:/docker/${ID_A}`,
      `4:cpuset:/docker/${ID_A}`,
      `3:cpu,cpuacct:/docker/${ID_A}`,
      '2:rdma:/',
      `1:name=systemd:/docker/${ID_A}`,
      '0::/',
    ),
    id: ID_A,
    hint: 'docker',
    path: `/docker/${ID_A}`,
  },
  {
    name: 'cgroup v1 docker (systemd driver)',
    text: lines(
      `11:memory:/system.slice/docker-${ID_A}.scope`,
      `4:cpu,cpuacct:/system.slice/docker-${ID_A}.scope`,
      `1:name=systemd:/system.slice/docker-${ID_A}.scope`,
      '0::/system.slice/containerd.service',
    ),
    id: ID_A,
    hint: 'docker',
  },
  {
    name: 'cgroup v2 docker, systemd driver',
    text: lines(`0::/system.slice/docker-${ID_A}.scope`),
    id: ID_A,
    hint: 'docker',
    path: `/system.slice/docker-${ID_A}.scope`,
  },
  {
    name: 'cgroup v2 docker, cgroupfs driver',
    text: lines(`0::/docker/${ID_A}`),
    id: ID_A,
    hint: 'docker',
  },
  {
    name: 'cgroup v2 docker, read from outside the container cgroup namespace root',
    text: lines(`0::/../../system.slice/docker-${ID_A}.scope`),
    id: ID_A,
    hint: 'docker',
  },
  {
    name: 'podman, systemd manager (rootful)',
    text: lines(`0::/machine.slice/libpod-${ID_A}.scope/container`),
    id: ID_A,
    hint: 'podman',
    path: `/machine.slice/libpod-${ID_A}.scope/container`,
  },
  {
    name: 'podman, cgroupfs manager',
    text: lines(`0::/libpod_parent/libpod-${ID_A}`),
    id: ID_A,
    hint: 'podman',
  },
  {
    name: 'podman, cgroup v1 cgroupfs manager',
    text: lines(`10:memory:/libpod_parent/libpod-${ID_A}`, `1:name=systemd:/libpod_parent/libpod-${ID_A}`),
    id: ID_A,
    hint: 'podman',
  },
  {
    name: 'rootless podman in the user slice',
    text: lines(`0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID_A}.scope/container`),
    id: ID_A,
    hint: 'podman',
  },
  {
    name: 'containerd (kind), systemd slice:prefix:name form with colons',
    text: lines(`0::/system.slice/containerd.service/kubepods-burstable-pod${POD_UID_US}.slice:cri-containerd:${ID_A}`),
    id: ID_A,
    hint: 'containerd',
  },
  {
    name: 'containerd, kubepods systemd slices (cgroup v2)',
    text: lines(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID_US}.slice/cri-containerd-${ID_A}.scope`),
    id: ID_A,
    hint: 'containerd',
  },
  {
    name: 'containerd, kubepods besteffort slices (cgroup v1)',
    text: lines(
      `12:pids:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_US}.slice/cri-containerd-${ID_A}.scope`,
      `1:name=systemd:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_US}.slice/cri-containerd-${ID_A}.scope`,
      '0::/',
    ),
    id: ID_A,
    hint: 'containerd',
  },
  {
    name: 'CRI-O container',
    text: lines(`0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_US}.slice/crio-${ID_A}.scope`),
    id: ID_A,
    hint: 'crio',
  },
  {
    name: 'CRI-O: conmon lines are ignored, the container line counts (no ambiguity)',
    text: lines(
      `5:memory:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_US}.slice/crio-conmon-${ID_B}.scope`,
      `1:name=systemd:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_US}.slice/crio-${ID_A}.scope`,
    ),
    id: ID_A,
    hint: 'crio',
  },
  {
    name: 'CRI-O conmon process alone is not a container',
    text: lines(`0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_US}.slice/crio-conmon-${ID_A}.scope`),
    id: undefined,
  },
  {
    name: 'podman conmon process is not a container',
    text: lines(`0::/machine.slice/libpod-conmon-${ID_A}.scope`),
    id: undefined,
  },
  {
    name: 'kubernetes cgroup v1, cgroupfs driver',
    text: lines(
      `11:memory:/kubepods/burstable/pod${POD_UID}/${ID_A}`,
      `3:cpu,cpuacct:/kubepods/burstable/pod${POD_UID}/${ID_A}`,
      `1:name=systemd:/kubepods/burstable/pod${POD_UID}/${ID_A}`,
    ),
    id: ID_A,
    hint: 'kubernetes',
  },
  {
    name: 'kubernetes besteffort cgroupfs, cgroup v2',
    text: lines(`0::/kubepods/besteffort/pod${POD_UID}/${ID_A}`),
    id: ID_A,
    hint: 'kubernetes',
  },
  {
    name: 'kubernetes with docker (dockershim), systemd driver',
    text: lines(`1:name=systemd:/kubepods.slice/kubepods-pod${POD_UID_US}.slice/docker-${ID_A}.scope`),
    id: ID_A,
    hint: 'docker',
  },
  {
    name: 'docker-in-docker (cgroupfs): innermost ID wins',
    text: lines(`12:pids:/docker/${ID_A}/docker/${ID_B}`, `1:name=systemd:/docker/${ID_A}/docker/${ID_B}`, '0::/'),
    id: ID_B,
    hint: 'docker',
    path: `/docker/${ID_A}/docker/${ID_B}`,
  },
  {
    name: 'docker-in-docker under a systemd scope: innermost ID wins',
    text: lines(`0::/system.slice/docker-${ID_A}.scope/docker/${ID_B}`),
    id: ID_B,
    hint: 'docker',
  },
  {
    name: 'a sub-cgroup below the container cgroup still maps to the container',
    text: lines(`0::/system.slice/docker-${ID_A}.scope/init.scope`),
    id: ID_A,
    hint: 'docker',
  },
  {
    name: 'bare ID under an unknown parent: ID, runtime unknown',
    text: lines(`0::/default/${ID_A}`),
    id: ID_A,
    hint: 'unknown',
  },
];

const HOST_CASES: Case[] = [
  { name: 'login session', text: lines('0::/user.slice/user-0.slice/session-1.scope'), id: undefined },
  { name: 'init', text: lines('0::/init.scope'), id: undefined },
  { name: 'system service', text: lines('0::/system.slice/sshd.service'), id: undefined },
  { name: 'root cgroup', text: lines('0::/'), id: undefined },
  {
    name: 'cgroup v1 host process',
    text: lines(
      '12:pids:/user.slice/user-1000.slice/session-3.scope',
      '5:memory:/user.slice/user-1000.slice/session-3.scope',
      '3:cpu,cpuacct:/user.slice',
      '1:name=systemd:/user.slice/user-1000.slice/session-3.scope',
      '0::/user.slice/user-1000.slice/session-3.scope',
    ),
    id: undefined,
  },
  { name: 'the docker daemon itself', text: lines('0::/system.slice/docker.service'), id: undefined },
  { name: 'empty file', text: '', id: undefined },
];

// Deliberate non-matches: things that contain 64 hex characters but are not
// one of the recognised container cgroup names.
const FALSE_POSITIVE_CASES: Case[] = [
  { name: 'service unit named with a hash', text: lines(`0::/system.slice/${ID_A}.service`), id: undefined },
  { name: 'transient run-*.scope with a hash', text: lines(`0::/system.slice/run-${ID_A}.scope`), id: undefined },
  { name: 'unknown scope prefix', text: lines(`0::/system.slice/myapp-${ID_A}.scope`), id: undefined },
  { name: 'docker-<id>.service is not a scope', text: lines(`0::/system.slice/docker-${ID_A}.service`), id: undefined },
  { name: 'mount unit with a hash', text: lines(`0::/system.slice/${ID_A}.mount`), id: undefined },
  { name: '65 hex characters', text: lines(`0::/docker/${ID_A}f`), id: undefined },
  { name: '64 hex inside a 128 hex run', text: lines(`0::/docker/${ID_A}${ID_B}`), id: undefined },
  { name: '65 hex in a scope', text: lines(`0::/system.slice/docker-0${ID_A}.scope`), id: undefined },
  { name: '63 hex characters', text: lines(`0::/docker/${ID_A.slice(1)}`), id: undefined },
  { name: 'uppercase hex is not an ID', text: lines(`0::/docker/${ID_A.toUpperCase()}`), id: undefined },
  {
    name: 'uppercase hex in a scope is not an ID',
    text: lines(`0::/system.slice/docker-${ID_A.toUpperCase()}.scope`),
    id: undefined,
  },
  { name: 'ID with a suffix', text: lines(`0::/docker/${ID_A}-init`), id: undefined },
  { name: 'non-hex character', text: lines(`0::/docker/${ID_A.slice(0, 63)}g`), id: undefined },
  {
    name: 'colon form with an unknown prefix',
    text: lines(`0::/system.slice/foo.slice:myrt:${ID_A}`),
    id: undefined,
  },
];

describe('containerIdFromCgroups', () => {
  it.each([...CONTAINER_CASES, ...HOST_CASES, ...FALSE_POSITIVE_CASES])('$name', (c) => {
    const m = locate(c.text);
    if (c.id === undefined) {
      expect(m).toBeUndefined();
      return;
    }
    expect(m?.id).toBe(c.id);
    expect(m?.id).toMatch(/^[0-9a-f]{64}$/);
    if (c.hint !== undefined) expect(m?.runtimeHint).toBe(c.hint);
    if (c.path !== undefined) expect(m?.path).toBe(c.path);
  });

  it('returns the path of the first line that names the container', () => {
    const m = locate(lines('2:rdma:/', `1:name=systemd:/system.slice/docker-${ID_A}.scope`, `0::/docker/${ID_A}`));
    expect(m).toEqual({ id: ID_A, runtimeHint: 'docker', path: `/system.slice/docker-${ID_A}.scope` });
  });

  it.each([
    ['two v1 hierarchies disagree', lines(`12:pids:/docker/${ID_A}`, `1:name=systemd:/docker/${ID_B}`)],
    ['v1 and v2 lines disagree', lines(`1:name=systemd:/docker/${ID_A}`, `0::/system.slice/docker-${ID_B}.scope`)],
    ['three runtimes', lines(`3:cpu:/docker/${ID_A}`, `2:pids:/docker/${ID_A}`, `0::/libpod_parent/libpod-${ID_C}`)],
  ])('throws CONTAINER_AMBIGUOUS when %s', (_name, text) => {
    expect(codeOf(() => locate(text))).toBe('CONTAINER_AMBIGUOUS');
  });

  it('names both IDs and the source in the ambiguity message', () => {
    const parsed = parseCgroupFile(lines(`12:pids:/docker/${ID_A}`, `0::/docker/${ID_B}`));
    expect(() => containerIdFromCgroups(parsed, '/proc/42/cgroup')).toThrow(`multiple container IDs in /proc/42/cgroup: "${ID_A}", "${ID_B}"`);
  });
});

describe('containerIdFromPath / containerCgroupRoot', () => {
  it.each([
    [`/machine.slice/libpod-${ID_A}.scope/container`, `/machine.slice/libpod-${ID_A}.scope`],
    [`/docker/${ID_A}/docker/${ID_B}`, `/docker/${ID_A}/docker/${ID_B}`],
    [`/system.slice/docker-${ID_A}.scope/init.scope`, `/system.slice/docker-${ID_A}.scope`],
    ['/init.scope', undefined],
  ])('%s -> %s', (path, root) => {
    expect(containerCgroupRoot(path)).toBe(root);
    expect(containerIdFromPath(path)?.path).toBe(root === undefined ? undefined : path);
  });
});

describe('containerd forms', () => {
  const NAMESPACES = ['k8s.io', 'default'];
  // The lines a real containerd 1.6 / 2.4 task has on this cgroup v1 hybrid
  // host (every hierarchy, then 0::), as the rig shows them.
  const everyHierarchy = (path: string): string =>
    lines(
      ...['name=systemd', 'pids', 'blkio', 'freezer', 'devices', 'memory', 'cpuset', 'cpuacct', 'cpu'].map((c, i) => `${9 - i}:${c}:${path}`),
      `0::${path}`,
    );

  it.each<[string, string, { id: string; hint: RuntimeHint; namespace?: string } | undefined]>([
    ['ctr, default namespace, a non-hex ID', everyHierarchy('/default/myapp'), { id: 'myapp', hint: 'containerd', namespace: 'default' }],
    ['ctr in k8s.io without --cgroup', everyHierarchy(`/k8s.io/${ID_A}`), { id: ID_A, hint: 'containerd', namespace: 'k8s.io' }],
    ['an ID with dots, dashes and underscores', lines('0::/default/web-1.blue_2'), { id: 'web-1.blue_2', hint: 'containerd', namespace: 'default' }],
    ['under containerd.service', lines('0::/system.slice/containerd.service/default/job7'), { id: 'job7', hint: 'containerd', namespace: 'default' }],
    ['nerdctl, systemd driver', lines(`0::/system.slice/nerdctl-${ID_A}.scope`), { id: ID_A, hint: 'containerd' }],
    [
      'nerdctl, cgroup v1 systemd driver',
      lines(`4:memory:/system.slice/nerdctl-${ID_A}.scope`, `1:name=systemd:/system.slice/nerdctl-${ID_A}.scope`),
      { id: ID_A, hint: 'containerd' },
    ],
    ['kubelet cgroupfs (ctr --cgroup, as the rig runs it)', everyHierarchy(`/kubepods/besteffort/pod${POD_UID}/${ID_A}`), { id: ID_A, hint: 'kubernetes' }],
    ['kubelet cgroupfs, guaranteed QoS (no QoS level)', lines(`0::/kubepods/pod${POD_UID}/${ID_A}`), { id: ID_A, hint: 'kubernetes' }],
    [
      'kubelet systemd driver, cri-containerd scope (cgroup v2)',
      lines(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID_US}.slice/cri-containerd-${ID_A}.scope`),
      { id: ID_A, hint: 'containerd' },
    ],
    [
      'kubelet systemd driver under containerd.service (colon form)',
      lines(`0::/system.slice/containerd.service/kubepods-besteffort-pod${POD_UID_US}.slice:cri-containerd:${ID_A}`),
      { id: ID_A, hint: 'containerd' },
    ],
    ['a namespace not served', lines('0::/moby/myapp'), undefined],
    ['a namespace segment alone', lines('0::/default'), undefined],
    ['an ID containerd would refuse', lines('0::/default/-bad'), undefined],
    ['an ID of 77 characters', lines(`0::/default/${'a'.repeat(77)}`), undefined],
    ['a sub-cgroup of a ctr container still maps to it', lines('0::/default/app/worker'), { id: 'app', hint: 'containerd', namespace: 'default' }],
  ])('%s', (_name, text, expected) => {
    const match = containerIdFromCgroups(parseCgroupFile(text), 'cgroup file', NAMESPACES);
    if (expected === undefined) {
      expect(match).toBeUndefined();
      return;
    }
    expect(match).toMatchObject({ id: expected.id, runtimeHint: expected.hint });
    expect(match?.namespace).toBe(expected.namespace);
  });

  it('sees no /<namespace>/<id> container when no namespace is served', () => {
    expect(containerIdFromCgroups(parseCgroupFile(lines('0::/default/myapp')))).toBeUndefined();
  });

  it('the innermost container wins: docker inside a ctr container', () => {
    const match = containerIdFromPath(`/default/outer/docker/${ID_B}`, NAMESPACES);
    expect(match).toMatchObject({ id: ID_B, runtimeHint: 'docker' });
  });

  it('cuts the container cgroup after the ID segment', () => {
    expect(containerCgroupRoot('/default/myapp', NAMESPACES)).toBe('/default/myapp');
    expect(containerCgroupRoot(`/system.slice/nerdctl-${ID_A}.scope/sub`, NAMESPACES)).toBe(`/system.slice/nerdctl-${ID_A}.scope`);
  });

  it('the same ID in two namespaces is ambiguous', () => {
    const text = lines(`1:memory:/default/${ID_A}`, `0::/k8s.io/${ID_A}`);
    expect(() => containerIdFromCgroups(parseCgroupFile(text), 'cgroup file', NAMESPACES)).toThrow(/multiple container IDs/);
  });
});
