// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went:
// self time per category (our modules, each npm package, Node internals by
// area, GC, idle), the top frames, and the inclusive time of named functions.

import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function isProfile(v: unknown): v is CpuProfile {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return Array.isArray(o['nodes']) && Array.isArray(o['samples']) && Array.isArray(o['timeDeltas']);
}

export interface ProfileSummary {
  readonly file: string;
  readonly wallMs: number;
  // Sampled time that was not idle.
  readonly busyMs: number;
  readonly idleMs: number;
  readonly categories: ReadonlyArray<{ category: string; ms: number; shareOfBusy: number }>;
  readonly topFrames: ReadonlyArray<{ frame: string; selfMs: number; shareOfBusy: number }>;
  readonly inclusive: Readonly<Record<string, { ms: number; shareOfBusy: number }>>;
}

function categoryOf(frame: CallFrame, repoRoot: string): string {
  const name = frame.functionName;
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'V8/native (program)';
  if (name === '(root)') return 'root';
  const url = frame.url;
  if (url === '') return `native: ${name || '(anonymous)'}`;
  const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return `npm: ${nm[1] ?? '?'}`;
  if (url.startsWith('node:')) {
    const parts = url.slice('node:'.length).split('/');
    const area = parts[0] === 'internal' ? (parts[1] ?? 'internal').replace(/\.js$/, '') : (parts[0] ?? '').replace(/\.js$/, '');
    return `node: ${area}`;
  }
  const local = url.replace(/^file:\/\//, '').replace(`${repoRoot.replace(/\/$/, '')}/`, '');
  if (local.startsWith('dist/')) return `ours: ${local.slice('dist/'.length).replace(/\.js$/, '.ts')}`;
  return `other: ${local}`;
}

function frameLabel(frame: CallFrame, repoRoot: string): string {
  const url = frame.url
    .replace(/^file:\/\//, '')
    .replace(`${repoRoot.replace(/\/$/, '')}/`, '')
    .replace(/^.*\/node_modules\//, '');
  return `${frame.functionName || '(anonymous)'} ${url}${url ? `:${frame.lineNumber + 1}` : ''}`;
}

const round = (v: number): number => Math.round(v * 100) / 100;

// `window`: only samples taken between these CLOCK_MONOTONIC times (µs, as
// process.hrtime.bigint() / 1000 in any process: V8 stamps samples with the
// same clock).
export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

export function summarizeProfile(file: string, repoRoot: string, functions: readonly string[], window?: Window): ProfileSummary {
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isProfile(raw)) throw new Error(`${file} is not a V8 cpuprofile`);
  const byId = new Map<number, ProfileNode>();
  for (const n of raw.nodes) byId.set(n.id, n);
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute the interval that
  // follows a sample to it.
  let at = raw.startTime;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < raw.samples.length; i++) {
    at += raw.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    first = Math.min(first, at);
    last = Math.max(last, at);
    const id = raw.samples[i] ?? -1;
    const dt = (raw.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  if (self.size === 0)
    throw new Error(
      `${file}: no samples in the window (profile ${raw.startTime}..${raw.endTime} µs, window ${window?.fromUs ?? '?'}..${window?.toUs ?? '?'} µs)`,
    );
  let idle = 0;
  let total = 0;
  const categories = new Map<string, number>();
  const frames = new Map<string, number>();
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (!node) continue;
    total += ms;
    const cat = categoryOf(node.callFrame, repoRoot);
    if (cat === 'idle') {
      idle += ms;
      continue;
    }
    categories.set(cat, (categories.get(cat) ?? 0) + ms);
    const label = frameLabel(node.callFrame, repoRoot);
    frames.set(label, (frames.get(label) ?? 0) + ms);
  }
  const busy = total - idle;
  const share = (ms: number): number => (busy > 0 ? round((ms / busy) * 100) : 0);

  // Inclusive time: self time of a node's subtree, for the outermost node of
  // each named function on a stack.
  const subtree = new Map<number, number>();
  const subtreeOf = (id: number): number => {
    const cached = subtree.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id);
    let sum = self.get(id) ?? 0;
    for (const c of node?.children ?? []) sum += subtreeOf(c);
    subtree.set(id, sum);
    return sum;
  };
  const inclusive: Record<string, { ms: number; shareOfBusy: number }> = {};
  const root = raw.nodes[0];
  if (root) {
    const wanted = new Set(functions);
    const acc = new Map<string, number>();
    const walk = (id: number, open: ReadonlySet<string>): void => {
      const node = byId.get(id);
      if (!node) return;
      const fn = node.callFrame.functionName;
      let nextOpen = open;
      if (wanted.has(fn) && !open.has(fn)) {
        acc.set(fn, (acc.get(fn) ?? 0) + subtreeOf(id));
        nextOpen = new Set([...open, fn]);
      }
      for (const c of node.children ?? []) walk(c, nextOpen);
    };
    walk(root.id, new Set());
    for (const fn of functions) inclusive[fn] = { ms: round(acc.get(fn) ?? 0), shareOfBusy: share(acc.get(fn) ?? 0) };
  }
  return {
    file,
    wallMs: round((last - first) / 1000),
    busyMs: round(busy),
    idleMs: round(idle),
    categories: [...categories.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([category, ms]) => ({ category, ms: round(ms), shareOfBusy: share(ms) })),
    topFrames: [...frames.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([frame, ms]) => ({ frame, selfMs: round(ms), shareOfBusy: share(ms) })),
    inclusive,
  };
}
