// The run's record: the JSON written to bench/results/ (one object, filled in
// by the phases as they go, so a phase that fails half-way still leaves what
// it measured) and the rows of the stdout table.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

import { loadRig } from '../../test/support/rig.js';
import { KNOBS } from './knobs.js';
import { elapsedS } from './progress.js';
import { round, type Row, type Summary } from './stats.js';

// What the figures were measured on (`machine`; the load average at the end
// is added when the run ends).
function machine(): Record<string, unknown> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const version = (cmd: string, args: string[], pick: RegExp): string => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
    return pick.exec(`${r.stdout}\n${r.stderr}`)?.[1] ?? 'unknown';
  };
  const rig = loadRig();
  return {
    cpuModel: model,
    cores: cpus().length,
    ramGb: round(totalmem() / 1024 ** 3, 1),
    kernel: release(),
    node: process.version,
    date: new Date().toISOString(),
    spireAgent: rig ? version(rig.spireAgent, ['--version'], /(\d+\.\d+\.\d+\S*)/) : 'unknown',
    cosign: rig?.cosign ? version(rig.cosign, ['version', '--json'], /"gitVersion":\s*"([^"]+)"/) : 'unknown',
    loadAverageAtStart: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

export interface Goal {
  goal: string;
  target: string;
  measured: string;
  met: boolean | null;
  basis: string;
}

export interface Result {
  schema: string;
  command: string;
  startedAt: string;
  finishedAt?: string;
  durationS?: number;
  machine: Record<string, unknown>;
  knobs: typeof KNOBS;
  setup: Record<string, unknown>;
  figures: Record<string, unknown>;
  goals: Goal[];
  findings: string[];
  table: Row[];
  errors: Array<{ phase: string; error: string }>;
  cleanup?: Record<string, unknown>;
}

export const result: Result = {
  schema: 'spire-sigstore-attestor/bench/1',
  command: 'npm run bench',
  startedAt: new Date().toISOString(),
  machine: machine(),
  knobs: KNOBS,
  setup: {},
  figures: {},
  goals: [],
  findings: [],
  table: [],
  errors: [],
};

// The stdout table, in the order the phases measured; also `table` in the JSON.
export const rows: Row[] = [];
export function row(figure: string, unit: string, summary: Summary, note?: string): void {
  rows.push(note === undefined ? { figure, unit, summary } : { figure, unit, summary, note });
}

// Closes the record: when the run ended and how long it took.
export function finishResult(): void {
  result.finishedAt = new Date().toISOString();
  result.durationS = elapsedS();
}
