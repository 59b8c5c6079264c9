import { KNOBS } from '../lib/knobs.js';
import { launch, stopPlugin } from '../lib/live.js';
import { REPO } from '../lib/paths.js';
import { result, row } from '../lib/result.js';
import { summarize, type Summary } from '../lib/stats.js';

// 4. Spawn -> handshake line (run for the launcher and for the single executable).
export async function handshakePhase(bin: string, label: string): Promise<Summary> {
  const times: number[] = [];
  for (let i = 0; i < KNOBS.handshakeRuns; i++) {
    const p = await launch(bin);
    times.push(p.handshakeMs);
    await stopPlugin(p);
  }
  const s = summarize(times);
  row(`spawn -> handshake, ${label}`, 'ms', s);
  (result.figures['handshake'] as Record<string, unknown>)[label] = { bin: bin.replace(REPO, ''), ms: s };
  return s;
}
