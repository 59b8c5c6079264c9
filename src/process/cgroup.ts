// Pure functions over the text of /proc/<pid>/cgroup: parse it into lines and
// find the container ID the process runs in. No I/O here (see procfs.ts).
//
// Why /proc/<pid>/cgroup and never /proc/<pid>/mountinfo: the cgroup file is
// written by the kernel from the process's actual cgroup membership, which a
// process can only change by being moved (needs write access to a cgroup.procs
// file). mountinfo only describes the process's mount namespace, which the
// workload controls: it can bind-mount a foreign container's cgroup directory
// (or anything named like one) and make mountinfo name another container.

import { AttestorError } from '../errors.js';
import { isContainerdIdentifier } from '../util/containerd-identifier.js';

/** One line of /proc/<pid>/cgroup: `hierarchy-ID:controller-list:cgroup-path`. */
export interface CgroupLine {
  /** `0` for the cgroup v2 unified hierarchy, `1..n` for v1 hierarchies. */
  hierarchyId: string;
  /** v1 controllers (`cpu`, `cpuacct`, `name=systemd`, ...); empty for v2. */
  controllers: string[];
  /** Path relative to the hierarchy's root (or to the cgroup namespace root). */
  path: string;
}

export type RuntimeHint = 'docker' | 'podman' | 'containerd' | 'crio' | 'kubernetes' | 'unknown';

export interface ContainerMatch {
  /** 64 lowercase hex characters, or a containerd ID in a `/<namespace>/<id>` path. */
  id: string;
  /** The containerd namespace, when the path names it (`/<namespace>/<id>`). */
  namespace?: string;
  /** Which runtime's naming scheme the ID was found in; a hint, not a proof. */
  runtimeHint: RuntimeHint;
  /** The cgroup path the ID was taken from. */
  path: string;
}

/**
 * Input caps. A real /proc/<pid>/cgroup is a few hundred bytes and at most one
 * line per mounted hierarchy (about 15 on cgroup v1). The caps bound the work
 * done on hostile or corrupt input: anything larger is rejected before it is
 * split or matched, so a huge input costs O(1) (length check) to refuse.
 */
export const MAX_CGROUP_BYTES = 64 * 1024;
export const MAX_CGROUP_LINES = 512;

/** How much of an offending line an error message echoes. */
const ECHO_LIMIT = 80;

function echo(line: string): string {
  const cut = line.length > ECHO_LIMIT ? `${line.slice(0, ECHO_LIMIT)}...` : line;
  // JSON.stringify escapes control characters so the message stays one line.
  return JSON.stringify(cut);
}

/**
 * Parse the text of /proc/<pid>/cgroup.
 *
 * - Each line is split on its first two colons only; the path keeps any
 *   further colons (containerd's `<slice>:cri-containerd:<id>` form has them).
 * - Line endings may be `\n` or `\r\n`; trailing whitespace on a line is
 *   dropped (the kernel never emits it). Empty lines at the end are ignored;
 *   an empty line anywhere else is malformed.
 * - A line is malformed when it has fewer than three fields, its hierarchy ID
 *   is not a decimal number, or its path does not start with `/`.
 *
 * Throws AttestorError('PROC_UNREADABLE') for malformed lines and for input
 * over MAX_CGROUP_BYTES (UTF-8) or MAX_CGROUP_LINES.
 */
export function parseCgroupFile(text: string): CgroupLine[] {
  // UTF-8 byte length >= UTF-16 length, so the first test is a cheap early
  // refusal of huge strings; the exact byte count then scans at most 64 Ki
  // code units.
  if (text.length > MAX_CGROUP_BYTES || Buffer.byteLength(text, 'utf8') > MAX_CGROUP_BYTES) {
    throw new AttestorError('PROC_UNREADABLE', `cgroup file is larger than ${MAX_CGROUP_BYTES} bytes; refusing to parse it`);
  }

  const rawLines = text.split('\n');
  let end = rawLines.length;
  while (end > 0 && (rawLines[end - 1] ?? '').trimEnd() === '') end--;
  if (end > MAX_CGROUP_LINES) {
    throw new AttestorError('PROC_UNREADABLE', `cgroup file has ${end} lines, more than the ${MAX_CGROUP_LINES} allowed; refusing to parse it`);
  }

  const result: CgroupLine[] = [];
  for (let i = 0; i < end; i++) {
    const line = (rawLines[i] ?? '').trimEnd(); // also drops a `\r` of CRLF
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) {
      throw new AttestorError('PROC_UNREADABLE', `malformed cgroup line ${i + 1}: ${echo(line)}`);
    }
    const hierarchyId = line.slice(0, first);
    const controllerList = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (!/^[0-9]+$/.test(hierarchyId) || !path.startsWith('/')) {
      throw new AttestorError('PROC_UNREADABLE', `malformed cgroup line ${i + 1}: ${echo(line)}`);
    }
    result.push({
      hierarchyId,
      controllers: controllerList === '' ? [] : controllerList.split(','),
      path,
    });
  }
  return result;
}

// ---------------------------------------------------------------------------
// Container ID recognition.
//
// A path segment is recognised only when the WHOLE segment has one of the
// forms below (anchored regexes). This is what keeps false positives out:
//  - a 64-hex run inside a longer hex run is not an ID (anchoring);
//  - a systemd unit that merely contains a hash (`foo-<64hex>.service`,
//    `run-<64hex>.scope`, `<64hex>.mount`) is not an ID: only the scope
//    prefixes that container runtimes use are accepted;
//  - uppercase hex is NOT an ID. Docker, podman, containerd and CRI-O always
//    write lowercase hex IDs; accepting (or lowercasing) uppercase would only
//    widen what a crafted cgroup name can match.
// The one form that cannot be told apart from a non-container is a bare
// 64-lowercase-hex directory (`/docker/<id>`, `/kubepods/.../<id>`): that is
// how cgroupfs drivers name container cgroups, so it is accepted anywhere.
// No name is proof, though: a process that may create cgroups can name one
// after another container. locate.ts confirmInContainerCgroup() closes that.
// ---------------------------------------------------------------------------

const HEX64 = '[0-9a-f]{64}';

/** A bare ID segment: cgroupfs drivers (`/docker/<id>`, `/kubepods/.../pod<uid>/<id>`). */
const PLAIN_RE = new RegExp(`^(${HEX64})$`);

/** systemd scope units created by the runtimes' systemd cgroup drivers. */
const SCOPE_RE = new RegExp(`^(docker|libpod|cri-containerd|nerdctl|crio)-(${HEX64})\\.scope$`);

/**
 * Conmon (the CRI-O / podman container monitor) gets its own scope named after
 * the container it monitors. The conmon process is not the container: these
 * segments are never an ID. (SCOPE_RE cannot match them anyway because
 * `conmon-<id>` is not 64 hex; this is explicit so the intent is visible.)
 */
const CONMON_RE = new RegExp(`^(crio|libpod)-conmon-${HEX64}\\.scope$`);

/** podman with the cgroupfs manager: `/libpod_parent/libpod-<id>`. */
const LIBPOD_PLAIN_RE = new RegExp(`^libpod-(${HEX64})$`);

/**
 * systemd "slice:prefix:name" notation left unconverted in the path, seen with
 * containerd (e.g. in kind): `kubepods-burstable-pod<uid>.slice:cri-containerd:<id>`.
 */
const SLICE_COLON_RE = new RegExp(`^[^:/]+\\.slice:(cri-containerd|crio|docker):(${HEX64})$`);

const PREFIX_HINT: Readonly<Record<string, RuntimeHint>> = {
  docker: 'docker',
  libpod: 'podman',
  'cri-containerd': 'containerd',
  nerdctl: 'containerd',
  crio: 'crio',
};

function hintForPrefix(prefix: string | undefined): RuntimeHint {
  return (prefix !== undefined ? PREFIX_HINT[prefix] : undefined) ?? 'unknown';
}

/** For a bare ID, guess the runtime from the nearest telling ancestor segment. */
function hintFromAncestors(segments: readonly string[], index: number): RuntimeHint {
  for (let i = index - 1; i >= 0; i--) {
    const seg = segments[i] ?? '';
    if (seg.startsWith('kubepods')) return 'kubernetes';
    if (seg === 'docker' || seg.startsWith('docker-') || seg === 'docker.service') return 'docker';
    if (seg === 'libpod_parent' || seg.startsWith('libpod-')) return 'podman';
  }
  return 'unknown';
}

interface SegmentMatch {
  id: string;
  runtimeHint: RuntimeHint;
  namespace?: string;
}

function matchSegment(segments: readonly string[], index: number, namespaces: readonly string[]): SegmentMatch | undefined {
  const seg = segments[index] ?? '';
  const parent = index > 0 ? segments[index - 1] : undefined;
  if (parent !== undefined && namespaces.includes(parent) && isContainerdIdentifier(seg)) {
    // containerd's own identifiers (ctr, nerdctl with cgroupfs):
    // `/<namespace>/<id>` where <namespace> is one the plugin serves. Any ID
    // containerd accepts.
    return { id: seg, runtimeHint: 'containerd', namespace: parent };
  }
  if (seg.length < 64 || CONMON_RE.test(seg)) return undefined;

  const plain = PLAIN_RE.exec(seg);
  if (plain?.[1] !== undefined) {
    return { id: plain[1], runtimeHint: hintFromAncestors(segments, index) };
  }
  const scope = SCOPE_RE.exec(seg);
  if (scope?.[2] !== undefined) return { id: scope[2], runtimeHint: hintForPrefix(scope[1]) };
  const libpod = LIBPOD_PLAIN_RE.exec(seg);
  if (libpod?.[1] !== undefined) return { id: libpod[1], runtimeHint: 'podman' };
  const colon = SLICE_COLON_RE.exec(seg);
  if (colon?.[2] !== undefined) return { id: colon[2], runtimeHint: hintForPrefix(colon[1]) };
  return undefined;
}

interface PathMatch extends SegmentMatch {
  /** Index of the segment the ID came from. */
  index: number;
  segments: string[];
}

function innermostInPath(path: string, namespaces: readonly string[]): PathMatch | undefined {
  const segments = path.split('/');
  for (let i = segments.length - 1; i >= 0; i--) {
    const m = matchSegment(segments, i, namespaces);
    if (m !== undefined) return { ...m, index: i, segments };
  }
  return undefined;
}

/**
 * The innermost container ID in one cgroup path: walk the `/` segments from
 * the last one backwards and stop at the first recognised segment. For nested
 * containers (`/docker/<outer>/docker/<inner>`) this yields the inner ID.
 * `namespaces`: the containerd namespaces served (for `/<namespace>/<id>`).
 */
export function containerIdFromPath(path: string, namespaces: readonly string[] = []): ContainerMatch | undefined {
  const m = innermostInPath(path, namespaces);
  if (m === undefined) return undefined;
  return { id: m.id, runtimeHint: m.runtimeHint, path, ...(m.namespace !== undefined ? { namespace: m.namespace } : {}) };
}

/**
 * The container's own cgroup: `path` cut after the segment its innermost
 * container ID came from (`/machine.slice/libpod-<id>.scope/container` ->
 * `/machine.slice/libpod-<id>.scope`). `undefined` when there is no ID.
 */
export function containerCgroupRoot(path: string, namespaces: readonly string[] = []): string | undefined {
  const m = innermostInPath(path, namespaces);
  return m === undefined ? undefined : m.segments.slice(0, m.index + 1).join('/');
}

/**
 * The container a process runs in, from its parsed cgroup lines.
 *
 * - No line names a container: `undefined` (a host process; not an error).
 * - Every line that names a container must name the same one; otherwise
 *   AttestorError('CONTAINER_AMBIGUOUS'). The first such line's match (its
 *   path and runtime hint) is returned.
 *
 * `source` only names the input in error messages.
 */
export function containerIdFromCgroups(lines: readonly CgroupLine[], source = 'cgroup file', namespaces: readonly string[] = []): ContainerMatch | undefined {
  let found: ContainerMatch | undefined;
  for (const line of lines) {
    const m = containerIdFromPath(line.path, namespaces);
    if (m === undefined) continue;
    if (found === undefined) {
      found = m;
    } else if (found.id !== m.id || found.namespace !== m.namespace) {
      throw new AttestorError('CONTAINER_AMBIGUOUS', `multiple container IDs in ${source}: "${found.id}", "${m.id}"`);
    }
  }
  return found;
}
