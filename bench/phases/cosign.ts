import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { offlineEnv } from '../../test/support/cosign.js';
import { run } from '../../test/support/rig.js';
import { KNOBS } from '../lib/knobs.js';
import { result, row } from '../lib/result.js';
import { round, summarize, type Summary } from '../lib/stats.js';

import type { World } from '../lib/world.js';

// 5a. cosign verify per attestation (the proof of concept's approach).
export async function cosignPhase(w: World): Promise<Summary> {
  if (!w.rig.cosign) throw new Error('cosign not in the rig');
  const tuf = join(w.tmp, 'tuf');
  mkdirSync(tuf, { recursive: true });
  const imgs = [...w.cold, ...w.footprint].map((c) => c.image).slice(0, KNOBS.cosignSamples);
  const times: number[] = [];
  for (const img of imgs) {
    const s = performance.now();
    const r = await run(w.rig.cosign, ['verify', '--key', w.key.publicKey, '--insecure-ignore-tlog', '--allow-http-registry', `${img.repoRef}@${img.digest}`], {
      timeoutMs: 60_000,
      env: offlineEnv(tuf),
    });
    times.push(performance.now() - s);
    if (r.code !== 0) throw new Error(`cosign verify ${img.tag} failed (${r.code}): ${r.stderr}`);
  }
  const s = summarize(times);
  row('cosign verify --key (fresh process)', 'ms', s, 'the PoC: one per attestation');
  result.figures['cosignVerify'] = {
    what: 'cosign verify --key <pub> --insecure-ignore-tlog --allow-http-registry <image@digest>, one process per sample, proxies pointed at a closed loopback port (never leaves the machine), same images as cold/footprint',
    samples: imgs.map((i) => i.name),
    ms: s,
  };
  return s;
}

// figures.sideBySide: cosign verify against our cold and warm Attest.
export function sideBySide(cosign: Summary, warm1: Summary, coldGrpc: number | undefined): Record<string, unknown> {
  return {
    cosignMedianMs: cosign.median,
    coldAttestMedianMs: coldGrpc,
    warmAttestMedianMs: warm1.median,
    speedupWarm: round(cosign.median / warm1.median, 1),
    speedupCold: coldGrpc ? round(cosign.median / coldGrpc, 2) : undefined,
  };
}
