import { join } from 'node:path';

import { TRUST_DOMAIN } from '../../test/support/spire.js';
import { parseGoDuration, startAgentPair } from '../lib/agents.js';
import { KNOBS } from '../lib/knobs.js';
import { live } from '../lib/live.js';
import { LAUNCHER, LAUNCHER_ENV, REPO, SEA } from '../lib/paths.js';
import { result, row } from '../lib/result.js';
import { round, summarize, type Summary } from '../lib/stats.js';
import { sleep } from '../lib/util.js';
import { pluginHcl, type World } from '../lib/world.js';

// The fetch times the agent comparison goal compares.
export interface AgentFetch {
  ours: Summary;
  builtin: Summary;
}

// 5b. Workload API fetch through two real agents: ours vs the built-in docker attestor.
export async function agentPhase(w: World, useSea: boolean): Promise<AgentFetch> {
  const pluginCmd = useSea ? SEA : LAUNCHER;
  const pair = await startAgentPair({
    rig: w.rig,
    dir: join(w.tmp, 'spire'),
    pluginCmd,
    pluginEnv: useSea ? {} : LAUNCHER_ENV,
    pluginData: pluginHcl(w.rig, w.key, '      '),
  });
  live.agents = pair;
  const img = w.agentImage;
  for (const [agent, id] of [
    [pair.ours, 'ours'],
    [pair.builtin, 'builtin'],
  ] as const) {
    await pair.server.cli([
      'entry',
      'create',
      '-parentID',
      agent.parentId,
      '-spiffeID',
      `spiffe://${TRUST_DOMAIN}/bench/${id}`,
      '-selector',
      `docker:image_config_digest:${img.id}`,
    ]);
  }
  const c = await w.fixtures.container(img, ['-v', `${join(pair.ours.dir, 'sock')}:/run/ours`, '-v', `${join(pair.builtin.dir, 'sock')}:/run/builtin`]);
  const fetchArgs = (who: string): string[] => ['/bin/spire-agent', 'api', 'fetch', 'x509', '-socketPath', `/run/${who}/agent.sock`, '-timeout', '5s'];
  // Entries reach the agents with their next sync.
  const syncStart = performance.now();
  for (const who of ['ours', 'builtin']) {
    for (;;) {
      const r = await w.fixtures.exec(c.id, fetchArgs(who), 30_000);
      if (r.code === 0 && r.out.includes(`spiffe://${TRUST_DOMAIN}/bench/${who}`)) break;
      if (performance.now() - syncStart > 90_000)
        throw new Error(
          `agent ${who}: no SVID after 90 s: ${r.out.slice(0, 400)}\nagent log tail:\n${(who === 'ours' ? pair.ours : pair.builtin).log().slice(-2000)}`,
        );
      await sleep(1_000);
    }
  }
  const syncMs = performance.now() - syncStart;
  // One process in the container runs the client alternately against the two
  // agents; each `api fetch x509` prints how long its fetch took.
  const rounds = KNOBS.agentWarmup + KNOBS.agentFetches;
  const one = (who: string): string => `echo "@@ ${who}"; ${fetchArgs(who).join(' ')}`;
  // Alternating which agent goes first in each round.
  const script = `i=0; while [ $i -lt ${rounds} ]; do if [ $((i % 2)) -eq 0 ]; then ${one('ours')}; ${one('builtin')}; else ${one('builtin')}; ${one('ours')}; fi; i=$((i+1)); done`;
  const r = await w.fixtures.exec(c.id, ['sh', '-c', script], 180_000);
  const got: Record<string, number[]> = { ours: [], builtin: [] };
  for (const block of r.out.split('@@ ').slice(1)) {
    const who = block.startsWith('ours') ? 'ours' : 'builtin';
    const m = /Received \d+ svids? after (\S+)/.exec(block);
    got[who]?.push(m?.[1] !== undefined ? parseGoDuration(m[1]) : Number.NaN);
  }
  const ours = summarize((got['ours'] ?? []).slice(KNOBS.agentWarmup).filter(Number.isFinite));
  const builtin = summarize((got['builtin'] ?? []).slice(KNOBS.agentWarmup).filter(Number.isFinite));
  if (ours.samples === 0 || builtin.samples === 0) throw new Error(`could not parse fetch times: ${r.out.slice(0, 600)}`);

  // Wall time per fetch process (process start included), loops of 20, minus
  // the cost of an empty `docker exec`.
  const execMs = async (args: string[]): Promise<number> => {
    const s = performance.now();
    const e = await w.fixtures.exec(c.id, args, 120_000);
    if (e.code !== 0) throw new Error(`exec ${args.join(' ')}: ${e.out.slice(0, 300)}`);
    return performance.now() - s;
  };
  const empty: number[] = [];
  for (let i = 0; i < 3; i++) empty.push(await execMs(['true']));
  const base = summarize(empty).median;
  const loop = (who: string): string[] => [
    'sh',
    '-c',
    `i=0; while [ $i -lt ${KNOBS.agentFetches} ]; do ${fetchArgs(who).join(' ')} >/dev/null || exit 1; i=$((i+1)); done`,
  ];
  const wall: Record<string, number[]> = { ours: [], builtin: [] };
  for (let i = 0; i < 2; i++) {
    for (const who of ['ours', 'builtin']) wall[who]?.push(((await execMs(loop(who))) - base) / KNOBS.agentFetches);
  }
  row('agent fetch x509, our plugin', 'ms', ours, `plugin_cmd ${useSea ? 'SEA' : 'launcher'}`);
  row('agent fetch x509, built-in docker', 'ms', builtin, `ratio of medians ${round(ours.median / builtin.median, 3)}`);
  result.figures['agentFetch'] = {
    what: `spire-agent api fetch x509 (static client) inside one container of a key-signed image, alternating (which goes first alternates per round) between two spire-agent v1.15 instances on one spire-server: "ours" loads the plugin (${useSea ? 'dist-sea single executable' : 'bin/ launcher'}) by plugin_cmd, "builtin" uses SPIRE's docker attestor; entry selector docker:image_config_digest:<id> for both; the time is what the client prints ("Received 1 svid after …": the Workload API call, attestation included, process start excluded); first ${KNOBS.agentWarmup} per agent dropped`,
    pluginCmd: pluginCmd.replace(REPO, ''),
    entrySyncMs: round(syncMs, 0),
    oursMs: ours,
    builtinMs: builtin,
    ratioOfMedians: round(ours.median / builtin.median, 3),
    perProcessWallMs: {
      what: `(docker exec of a loop of ${KNOBS.agentFetches} fetch processes - an empty docker exec) / ${KNOBS.agentFetches}; 2 loops each`,
      emptyExecMs: summarize(empty),
      ours: summarize(wall['ours'] ?? []),
      builtin: summarize(wall['builtin'] ?? []),
    },
  };
  await w.fixtures.removeContainers([c.id]);
  await pair.stop();
  live.agents = undefined;
  return { ours, builtin };
}
