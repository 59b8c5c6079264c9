// Process facts from /proc and signals, for tests that watch daemons and
// their children (spire-agent's plugin, dockerd's containerd).

import { readdirSync, readFileSync } from 'node:fs';

/** Child PIDs of a process, from /proc/<pid>/task/<tid>/children. */
export function children(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (text !== '') out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

/** kill(pid, 0) succeeds. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A positive number from the environment variable `name`, else `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}
