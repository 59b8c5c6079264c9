// The plugin processes and agents that are running, so that cleanup (also on
// Ctrl-C) can stop whatever a failed phase left behind.

import { LAUNCHER, LAUNCHER_ENV, REPO } from './paths.js';
import { startPlugin, type Plugin } from './plugin.js';

import type { AgentPair } from './agents.js';

export const live: { plugins: Set<Plugin>; agents: AgentPair | undefined } = { plugins: new Set(), agents: undefined };

export async function launch(bin: string, env: NodeJS.ProcessEnv = {}): Promise<Plugin> {
  const p = await startPlugin(REPO, bin, bin === LAUNCHER ? { ...LAUNCHER_ENV, ...env } : env);
  live.plugins.add(p);
  return p;
}

export async function stopPlugin(p: Plugin): Promise<void> {
  await p.stop();
  live.plugins.delete(p);
}

export async function stopAll(): Promise<void> {
  for (const p of [...live.plugins]) await p.stop().catch(() => undefined);
  live.plugins.clear();
  await live.agents?.stop().catch(() => undefined);
  live.agents = undefined;
}
