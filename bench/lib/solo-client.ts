// The N=1 latency figures from a grpc-js client in a process of its own that
// does nothing but call: Health/Check (the gRPC floor), then warm Attests.
// In the bench process the same client shares its event loop and heap with
// the bench's bookkeeping (result tables, the registry log, the agents' and
// plugins' pipes): its GC pauses land in the plugin's p99.
//
//   node solo-client.js <repo> <plugin socket> <pid> <calls> <warm-up calls>
// prints one JSON line: { health: number[], attest: number[], unexpected }.

import { isVerifiedBound, load } from './load.js';
import { attestCaller, clientOn, SERVICE, unary } from './plugin.js';

import type { Client } from '@grpc/grpc-js';
import type { ServiceName } from '../../src/plugin/protos.js';

async function main(args: readonly string[]): Promise<void> {
  const [repo = '', socketPath = '', pidText = '', callsText = '', warmupText = ''] = args;
  const pid = Number(pidText);
  const calls = Number(callsText);
  const warmup = Number(warmupText);
  if (!repo || !socketPath || !(pid > 0) || !(calls > 0) || !(warmup >= 0)) throw new Error('usage: solo-client <repo> <socket> <pid> <calls> <warm-up calls>');
  const clients = new Map<ServiceName, Client>();
  const on = {
    client(service: ServiceName): Client {
      const known = clients.get(service);
      if (known) return known;
      const c = clientOn(repo, socketPath, service);
      clients.set(service, c);
      return c;
    },
  };
  const attest = attestCaller(on);
  const health = on.client(SERVICE.health);
  const first = await attest(pid);
  if (!isVerifiedBound(first.selector_values)) throw new Error(`unexpected selectors: ${first.selector_values.join(' ')}`);
  await load(attest, [pid], warmup, 1, 60_000);
  for (let i = 0; i < warmup; i++) await unary(health, 'Check', { service: 'plugin' });
  const healthLat: number[] = [];
  for (let i = 0; i < calls; i++) {
    const s = performance.now();
    await unary(health, 'Check', { service: 'plugin' });
    healthLat.push(performance.now() - s);
  }
  const r = await load(attest, [pid], calls, 1, 60_000);
  for (const c of clients.values()) c.close();
  if (r.errors > 0) throw new Error(`${r.errors} Attests failed: ${r.firstError ?? '?'}`);
  process.stdout.write(`${JSON.stringify({ health: healthLat, attest: r.latencies, unexpected: r.unexpected })}\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
