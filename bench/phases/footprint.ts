import { KNOBS } from '../lib/knobs.js';
import { launch, stopPlugin } from '../lib/live.js';
import { load } from '../lib/load.js';
import { REPO } from '../lib/paths.js';
import { attestCaller, initAndConfigure, memoryOf, residentSplitOf } from '../lib/plugin.js';
import { result, row } from '../lib/result.js';
import { round, single, summarize } from '../lib/stats.js';
import { sleep } from '../lib/util.js';

import type { World } from '../lib/world.js';

// 4. Footprint: RSS after start, after Configure and after 10,000 Attests
// (run for the launcher and for the single executable).
export async function footprintPhase(w: World, bin: string, label: string): Promise<{ rssAfter: number; rssSettled: number; rssConfigured: number }> {
  const pids = w.footprint.map((c) => c.pid);
  const plugin = await launch(bin);
  try {
    await sleep(300);
    const atStart = memoryOf(plugin.pid);
    const splitAtStart = residentSplitOf(plugin.pid);
    await initAndConfigure(plugin, w.hcl);
    await sleep(300);
    const afterConfigure = memoryOf(plugin.pid);
    const splitAfterConfigure = residentSplitOf(plugin.pid);
    const attest = attestCaller(plugin, 30_000);
    const r = await load(attest, pids, KNOBS.footprintAttests, KNOBS.footprintConcurrency, 120_000);
    await sleep(300);
    const after = memoryOf(plugin.pid);
    const splitAfter = residentSplitOf(plugin.pid);
    await sleep(KNOBS.footprintSettleMs);
    const settled = memoryOf(plugin.pid);
    const splitSettled = residentSplitOf(plugin.pid);
    if (r.errors > 0 || r.unexpected > 0)
      throw new Error(`footprint ${label}: ${r.errors} errors (${r.firstError ?? ''}), ${r.unexpected} unexpected selector sets`);
    row(
      `RSS ${label}: start / configured / after ${r.completed} Attests / ${KNOBS.footprintSettleMs / 1000} s later`,
      'MB',
      single(round(after.rssMb, 1)),
      `${round(atStart.rssMb, 1)} / ${round(afterConfigure.rssMb, 1)} / ${round(after.rssMb, 1)} (peak ${round(after.hwmMb, 1)}) / ${round(settled.rssMb, 1)}`,
    );
    (result.figures['footprint'] as Record<string, unknown>)[label] = {
      bin: bin.replace(REPO, ''),
      rssMbAfterStart: round(atStart.rssMb, 1),
      rssMbAfterConfigure: round(afterConfigure.rssMb, 1),
      rssMbAfterAttests: round(after.rssMb, 1),
      rssMbSettled: round(settled.rssMb, 1),
      settleMs: KNOBS.footprintSettleMs,
      peakRssMb: round(after.hwmMb, 1),
      // smaps_rollup: anonymous vs file-backed (the binary's pages).
      resident: { afterStart: splitAtStart, afterConfigure: splitAfterConfigure, afterAttests: splitAfter, settled: splitSettled },
      attests: r.completed,
      images: pids.length,
      concurrency: KNOBS.footprintConcurrency,
      attestLatencyMs: summarize(r.latencies),
      throughputPerS: round(r.completed / (r.wallMs / 1000), 0),
    };
    return { rssAfter: after.rssMb, rssSettled: settled.rssMb, rssConfigured: afterConfigure.rssMb };
  } finally {
    await stopPlugin(plugin);
  }
}
