import { spawn } from 'node:child_process';
import { once } from 'node:events';

import { KNOBS } from '../lib/knobs.js';
import { launch, stopPlugin } from '../lib/live.js';
import { REPO } from '../lib/paths.js';
import { result, row } from '../lib/result.js';
import { round, summarize, type Summary } from '../lib/stats.js';

// spawn -> exit of a bare `node -e 0` (the same binary): what any Node start costs.
async function bareNodeMs(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await once(child, 'exit');
  clearTimeout(timer);
  return performance.now() - started;
}

export interface HandshakeFigure {
  ms: Summary;
  // The same run's bare `node -e 0`, one start before each spawn.
  bareNodeMs: Summary;
  // median / bare median.
  overBareNode: number;
}

// 4. Spawn -> handshake line (run for the launcher and for the single
// executable), each run after a bare `node -e 0`, so that the ratio holds
// for the load the machine has at that moment.
export async function handshakePhase(bin: string, label: string): Promise<HandshakeFigure> {
  const times: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < KNOBS.handshakeRuns; i++) {
    bare.push(await bareNodeMs());
    const p = await launch(bin);
    times.push(p.handshakeMs);
    await stopPlugin(p);
  }
  const s = summarize(times);
  const b = summarize(bare);
  const overBareNode = round(s.median / b.median, 2);
  row(`spawn -> handshake, ${label}`, 'ms', s, `${overBareNode}x bare node -e 0 (p50 ${round(b.median, 1)} ms, same runs)`);
  (result.figures['handshake'] as Record<string, unknown>)[label] = { bin: bin.replace(REPO, ''), ms: s, bareNodeMs: b, overBareNode };
  return { ms: s, bareNodeMs: b, overBareNode };
}
