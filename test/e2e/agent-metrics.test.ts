// The plugin's metrics reach the operator through spire-agent: a real agent
// with its Prometheus telemetry on 127.0.0.1 loads the plugin, attests a
// cosign-signed workload and an unsigned one, and its /metrics endpoint
// shows the plugin's series (spire_agent_sigstore_attestor_*), with the
// outcomes, cache use and registry requests of those attestations.

import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { signWithKey } from '../support/cosign.js';
import { describeWithRig, docker } from '../support/rig.js';
import { buildWorkloadImage, pushImage } from '../support/workload-image.js';
import {
  fetchX509InContainer,
  freePort,
  releaseKeyLines,
  rigRegistryLines,
  startServerWithReleaseKey,
  startSpireAgent,
  TRUST_DOMAIN,
  waitFor,
} from '../support/spire.js';

import type { SpireAgent, SpireServer } from '../support/spire.js';

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

// Prometheus text format: `name{a="b",…} value` lines (comments skipped).
function parseMetrics(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = l[2] ?? '';
    out.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

describeWithRig('spire-agent exposes the plugin metrics on its Prometheus endpoint', ['spire', 'docker', 'registry', 'cosign'], (rig) => {
  let dir: string;
  let server: SpireServer;
  let agent: SpireAgent;
  let metricsPort: number;
  const run = `${process.pid}`;
  const signedTag = `${rig.registry}/ssa-e2e/metrics-signed-${run}:1`;
  const unsignedTag = `${rig.registry}/ssa-e2e/metrics-unsigned-${run}:1`;

  const scrape = async (): Promise<Series[]> => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
    return parseMetrics(await res.text());
  };
  const ours = (series: Series[], name: string): Series[] => series.filter((s) => s.name === `spire_agent_sigstore_attestor_${name}`);

  beforeAll(async () => {
    const start = await startServerWithReleaseKey(rig, 'ssa-e2e-m-');
    ({ dir, server } = start);
    const { releaseKey, token, parentId } = start;
    metricsPort = await freePort();
    agent = await startSpireAgent({
      bin: rig.spireAgent,
      dir: join(dir, 'agent'),
      server,
      token,
      pluginData: [`      docker_socket_path = "${rig.dockerHost}"`, ...rigRegistryLines(rig), ...releaseKeyLines(releaseKey.publicKey)].join('\n'),
      extraConfig: `telemetry {\n  Prometheus {\n    host = "127.0.0.1"\n    port = ${metricsPort}\n  }\n}\n`,
    });
    chmodSync(join(dir, 'agent'), 0o755);
    const digests: Record<string, string> = {};
    for (const tag of [signedTag, unsignedTag]) {
      await buildWorkloadImage(rig, tag, `metrics-${tag.includes('unsigned') ? 'unsigned' : 'signed'}-${run}`);
      digests[tag] = await pushImage(rig, tag);
    }
    await signWithKey(rig, `${signedTag.slice(0, signedTag.lastIndexOf(':'))}@${digests[signedTag] ?? ''}`, releaseKey, 'legacy');
    await server.cli([
      'entry',
      'create',
      '-parentID',
      parentId,
      '-spiffeID',
      `spiffe://${TRUST_DOMAIN}/signed-app`,
      '-selector',
      'docker:image-signature-key:release',
    ]);
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await docker(rig, ['rmi', '-f', signedTag, unsignedTag]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts attestations by outcome, cache use, registry requests and latency', async () => {
    await waitFor(
      'an SVID for the signed workload',
      async () => /spiffe:\/\/example\.org\/signed-app/.test((await fetchX509InContainer(rig, join(dir, 'agent'), signedTag)).output),
      60_000,
      1_000,
    );
    const denied = await fetchX509InContainer(rig, join(dir, 'agent'), unsignedTag);
    expect(denied.output).not.toMatch(/signed-app/);
    expect(agent.log()).toMatch(/metrics go to the agent through its Metrics host service/);

    let series: Series[] = [];
    await waitFor(
      'the plugin series on the agent metrics endpoint',
      async () => {
        series = await scrape();
        return ours(series, 'attestations').some((s) => s.labels['outcome'] === 'bound');
      },
      20_000,
      500,
    );
    const outcomes: Record<string, number> = Object.fromEntries(ours(series, 'attestations').map((s) => [s.labels['outcome'], s.value]));
    expect(outcomes['signed']).toBeGreaterThanOrEqual(1);
    expect(outcomes['bound']).toBeGreaterThanOrEqual(1);
    const cache = ours(series, 'cache').map((s) => `${s.labels['cache']}/${s.labels['result']}`);
    expect(cache).toEqual(expect.arrayContaining(['binding/miss', 'signatures/miss', 'container/miss']));
    const requests = ours(series, 'registry_requests').map((s) => `${s.labels['kind']} ${s.labels['method']} ${s.labels['status']}`);
    expect(requests).toEqual(expect.arrayContaining(['manifest GET 200', 'blob GET 200']));
    // AddSample becomes a summary: its _count is the number of attestations timed.
    const timed = ours(series, 'attestation_latency_ms_count');
    expect(timed.length).toBeGreaterThan(0);
    expect(timed[0]?.value).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
