// Attest honours the caller's deadline and never answers with selectors after
// it: run the WorkloadAttestor service in-process with a host that hangs.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { credentials, makeGenericClientConstructor, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../../src/log.js';
import { SERVICE, serviceDefinition } from '../../../src/plugin/protos.js';
import { workloadAttestorService } from '../../../src/plugin/spire.js';
import { AttestorError } from '../../../src/errors.js';
import { unary } from '../../support/plugin-process.js';

import type { PluginHost } from '../../../src/plugin/host.js';

let server: Server;
let dir: string;
let aborted = 0;

const host: PluginHost = {
  configure: async () => undefined,
  validate: async () => ({ valid: true, notes: [] }),
  useMetrics: () => undefined,
  close: async () => undefined,
  // pid 5: known at once (the warm path); attest() must not run for it.
  attestNow: (pid) => (pid === 5 ? ['image_id:warm'] : undefined),
  attest: (pid, signal) => {
    if (pid === 1) return Promise.resolve(['image_id:ok']);
    if (pid === 5) return Promise.reject(new Error('attest() ran for a pid answered at once'));
    if (pid === 2) return Promise.reject(new AttestorError('CONTAINER_AMBIGUOUS', 'two container IDs'));
    if (pid === 3) return Promise.reject(new Error('secret internal detail'));
    // pid 4: hangs until aborted, then (too late) tries to answer.
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        aborted++;
        resolve(['image_id:too-late']);
      });
    });
  },
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssa-deadline-'));
  server = new Server();
  server.addService(serviceDefinition(SERVICE.workloadAttestor), workloadAttestorService(host, silentLogger));
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${join(dir, 's.sock')}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
});

afterAll(() => {
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

function client() {
  const Ctor = makeGenericClientConstructor(serviceDefinition(SERVICE.workloadAttestor), SERVICE.workloadAttestor);
  return new Ctor(`unix:${join(dir, 's.sock')}`, credentials.createInsecure());
}

describe('Attest error and deadline handling', () => {
  it('returns selectors on success', async () => {
    await expect(unary(client(), 'Attest', { pid: 1 })).resolves.toEqual({ selector_values: ['image_id:ok'] });
  });

  it('answers from the warm path when the host knows the answer at once', async () => {
    await expect(unary(client(), 'Attest', { pid: 5 })).resolves.toEqual({ selector_values: ['image_id:warm'] });
  });

  it('maps typed errors to their status and message', async () => {
    const err = (await unary(client(), 'Attest', { pid: 2 }).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toBe('two container IDs');
  });

  it('hides unclassified errors behind UNKNOWN', async () => {
    const err = (await unary(client(), 'Attest', { pid: 3 }).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.UNKNOWN);
    expect(err.details).not.toContain('secret');
  });

  it('aborts the pipeline at the deadline and answers no selectors', async () => {
    const err = (await unary(client(), 'Attest', { pid: 4 }, 300).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(aborted).toBe(1);
  });
});
