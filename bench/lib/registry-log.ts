// Counting requests where they arrive: the rig registry's access log
// ($SSA_STATE_DIR/registry-default.log, see test/env/up.sh start_registry),
// one combined-format line per request:
//   127.0.0.1 - - [date] "GET /v2/<repo>/manifests/<ref> HTTP/1.1" 200 1234 "" "spire-sigstore-attestor"
// Other tests may use the registry at the same time, so requests are counted
// only for our repositories and our user agent, inside a byte window of the
// file.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const PLUGIN_USER_AGENT = 'spire-sigstore-attestor';

export interface AccessLine {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly userAgent: string;
}

const LINE = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) HTTP\/[\d.]+" (\d{3}) \S+ "[^"]*" "([^"]*)"/;

export class RegistryLog {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'registry-default.log');
  }

  offset(): number {
    try {
      return statSync(this.path).size;
    } catch {
      return 0;
    }
  }

  // Access lines written in [from, to) (to: the current end).
  lines(from: number, to = this.offset()): AccessLine[] {
    if (to <= from) return [];
    const fd = openSync(this.path, 'r');
    let text: string;
    try {
      const buf = Buffer.alloc(to - from);
      let filled = 0;
      while (filled < buf.length) {
        const n = readSync(fd, buf, filled, buf.length - filled, from + filled);
        if (n === 0) break;
        filled += n;
      }
      text = buf.subarray(0, filled).toString('utf8');
    } finally {
      closeSync(fd);
    }
    const out: AccessLine[] = [];
    for (const line of text.split('\n')) {
      const m = LINE.exec(line);
      if (m) out.push({ method: m[1] ?? '', path: m[2] ?? '', status: Number(m[3]), userAgent: m[4] ?? '' });
    }
    return out;
  }
}

// Requests the plugin made for one repository (or any under a prefix).
export function pluginRequests(lines: readonly AccessLine[], repository: string): AccessLine[] {
  const prefix = `/v2/${repository}/`;
  return lines.filter((l) => l.userAgent.startsWith(PLUGIN_USER_AGENT) && l.path.startsWith(prefix));
}

// "HEAD manifests/<tag> 200": what kind of request a line is, for breakdowns.
export function requestKind(line: AccessLine): string {
  const m = /^\/v2\/.+?\/(manifests|blobs|referrers|tags)\/(.+)$/.exec(line.path.split('?')[0] ?? '');
  if (!m) return `${line.method} ${line.path} ${line.status}`;
  const [, what = '', ref = ''] = m;
  let target: string;
  if (what === 'blobs') target = 'blob';
  else if (what === 'referrers') target = 'referrers API';
  else if (ref.endsWith('.sig')) target = 'sha256-<hex>.sig (legacy signature tag)';
  else if (/^sha256-[0-9a-f]{64}$/.test(ref)) target = 'sha256-<hex> (referrers tag fallback)';
  else if (ref.startsWith('sha256:')) target = 'by digest';
  else target = 'by tag';
  return `${line.method} ${what === 'blobs' || what === 'referrers' ? '' : 'manifest '}${target} -> ${line.status}`;
}

export function breakdown(lines: readonly AccessLine[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    const k = requestKind(l);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

// The same, short: "HEAD tag 200", "GET digest 200", "GET referrers 404",
// "GET sha256-tag 404", "GET .sig 200", "GET blob 200".
export function shortKind(line: AccessLine): string {
  const m = /^\/v2\/.+?\/(manifests|blobs|referrers|tags)\/(.+)$/.exec(line.path.split('?')[0] ?? '');
  if (!m) return `${line.method} ? ${line.status}`;
  const [, what = '', ref = ''] = m;
  let target: string;
  if (what === 'blobs') target = 'blob';
  else if (what === 'referrers') target = 'referrers';
  else if (ref.endsWith('.sig')) target = '.sig';
  else if (/^sha256-[0-9a-f]{64}$/.test(ref)) target = 'sha256-tag';
  else if (ref.startsWith('sha256:')) target = 'digest';
  else target = 'tag';
  return `${line.method} ${target} ${line.status}`;
}
