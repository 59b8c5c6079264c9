// AttestorService: Configure swaps in a new attestor; an Attest that a
// Configure overtook is answered under the new configuration, never the old.

import { beforeAll, describe, expect, it, vi } from 'vitest';

import { AttestorService } from '../../../src/app/service.js';
import { AttestorError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { TEST_POLICY } from '../../support/policy.js';

import type { Attestor } from '../../../src/attest/attestor.js';
import type { HclObject } from '../../../src/config/hcl-output.js';

// A gate a test opens (or fails) by hand.
function gate() {
  let open = (): void => undefined;
  let fail = (_: Error): void => undefined;
  const passed = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { passed, open, fail };
}

// Attestors numbered in the order Configure builds them. Attestor n answers
// `image_id:<n>` once `answer[n]` opens, and fails if it was closed by
// then, as one whose registry client was closed would.
function attestors() {
  const answer = [gate(), gate(), gate(), gate()];
  const closed: number[] = [];
  let built = 0;
  const factory = (): Attestor => {
    const n = ++built;
    return {
      ready: async () => undefined,
      attest: async () => {
        await answer[n]?.passed;
        if (closed.includes(n)) throw new AttestorError('REGISTRY_UNAVAILABLE', `attestor ${n} was closed`);
        return [`image_id:${n}`];
      },
      close: async () => {
        closed.push(n);
      },
    };
  };
  return { factory, answer, closed, built: () => built };
}

let parsed: HclObject;
beforeAll(async () => {
  const { parseHcl } = await import('../../../src/config/hcl.js');
  parsed = parseHcl(TEST_POLICY);
});

function serviceOf(factory: () => Attestor): AttestorService {
  return new AttestorService({ log: silentLogger, createAttestor: factory, decodeHcl: async () => parsed });
}

// A service configured once, with an Attest (pid 7) under way on attestor 1.
async function attesting(factory: () => Attestor): Promise<{ service: AttestorService; call: Promise<readonly string[]> }> {
  const service = serviceOf(factory);
  await service.configure(TEST_POLICY);
  return { service, call: service.attest(7, AbortSignal.timeout(5_000)) };
}

describe('AttestorService', () => {
  it('answers under the attestor current when the answer is given', async () => {
    const a = attestors();
    const { service, call } = await attesting(a.factory);
    await service.configure(TEST_POLICY);
    // Attestor 1, replaced and closed, fails: the call runs again on 2.
    a.answer[1]?.open();
    a.answer[2]?.open();
    await expect(call).resolves.toEqual(['image_id:2']);
  });

  it('never returns what a replaced attestor answered, even before it is closed', async () => {
    const a = attestors();
    const closing = gate();
    const factory = (): Attestor => {
      const attestor = a.factory();
      // Attestor 1's close waits: it answers replaced but not closed.
      return a.built() === 1 ? { ...attestor, close: () => closing.passed.then(() => attestor.close()) } : attestor;
    };
    const { service, call } = await attesting(factory);
    const first = service.config;
    const configured = service.configure(TEST_POLICY);
    await vi.waitFor(() => expect(service.config).not.toBe(first));
    a.answer[1]?.open();
    a.answer[2]?.open();
    await expect(call).resolves.toEqual(['image_id:2']);
    closing.open();
    await configured;
  });

  it('fails (CONFIG_CHANGED, nothing granted) when Configure overtakes the call twice', async () => {
    const a = attestors();
    const { service, call } = await attesting(a.factory);
    await service.configure(TEST_POLICY);
    a.answer[1]?.open();
    await vi.waitFor(() => expect(a.built()).toBe(2));
    // The call now waits on attestor 2; a third Configure replaces it.
    await new Promise((resolve) => setImmediate(resolve));
    await service.configure(TEST_POLICY);
    a.answer[2]?.open();
    await expect(call).rejects.toMatchObject({ code: 'CONFIG_CHANGED' });
  });

  it('passes the error on when the attestor that failed is still the current one', async () => {
    const a = attestors();
    const { call } = await attesting(a.factory);
    a.answer[1]?.fail(new AttestorError('CONTAINER_NOT_FOUND', 'gone'));
    await expect(call).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
  });

  it('says NOT_CONFIGURED before the first Configure', async () => {
    const service = serviceOf(attestors().factory);
    await expect(service.attest(7, AbortSignal.timeout(1_000))).rejects.toMatchObject({ code: 'NOT_CONFIGURED' });
  });
});
