// bindImage's per-registry modes, table-driven over an in-memory registry:
// what each mode makes of a bound image, a rebuilt one, a registry that
// cannot tell, a vanished local image, and an error that is not the
// registry's. Nothing but "bound" may ever lead to digest selectors.

import { describe, expect, it } from 'vitest';

import { bindImage } from '../../../src/attest/binding-step.js';
import { AttestorError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { bindingSelectors } from '../../../src/selectors/binding.js';
import { codeRejected } from '../../support/errors.js';
import { MemoryRegistry, digestOf, image } from '../../support/memory-registry.js';

import type { BindingMode, RegistryConfig } from '../../../src/attest/types.js';
import type { ContainerFacts, ImageFacts } from '../../../src/runtime/types.js';

const REGISTRY = 'r.test:5000';
const RUNNING = digestOf('config-running');
const REBUILT = digestOf('config-rebuilt');

type Situation = 'bound' | 'rebuilt' | 'registry-down' | 'registry-garbage' | 'no-local-image' | 'bug';

function setUp(situation: Situation): { registry: MemoryRegistry; image: ImageFacts | undefined } {
  const registry = new MemoryRegistry();
  registry.put(image(situation === 'rebuilt' ? REBUILT : RUNNING), '1');
  if (situation === 'registry-down') registry.failWith = new AttestorError('REGISTRY_UNAVAILABLE', 'connection refused');
  if (situation === 'registry-garbage') registry.failWith = new AttestorError('REGISTRY_RESPONSE', 'manifest is not JSON');
  if (situation === 'bug') registry.failWith = new TypeError('a bug');
  const local: ImageFacts = { id: RUNNING, repoDigests: [], repoTags: [`${REGISTRY}/acme/app:1`], os: 'linux', architecture: 'amd64' };
  return { registry, image: situation === 'no-local-image' ? undefined : local };
}

const container: ContainerFacts = {
  id: 'c'.repeat(64),
  imageId: RUNNING,
  imageRef: `${REGISTRY}/acme/app:1`,
  labels: {},
  env: [],
  running: true,
  initPid: 42,
};

const config = (mode: BindingMode): RegistryConfig => ({
  registries: { [REGISTRY]: { insecure: true, binding: mode } },
  dockerConfigPath: undefined,
  timeoutMs: 1_000,
});

// outcome (or the code it fails with), per situation and mode.
const TABLE: readonly [Situation, Record<BindingMode, string>][] = [
  ['bound', { require: 'bound', prefer: 'bound', skip: 'skipped' }],
  ['rebuilt', { require: 'fails NOT_BOUND', prefer: 'not-bound', skip: 'skipped' }],
  ['registry-down', { require: 'fails REGISTRY_UNAVAILABLE', prefer: 'unavailable', skip: 'skipped' }],
  ['registry-garbage', { require: 'fails REGISTRY_RESPONSE', prefer: 'unavailable', skip: 'skipped' }],
  ['no-local-image', { require: 'fails NOT_BOUND', prefer: 'unavailable', skip: 'skipped' }],
  ['bug', { require: 'fails', prefer: 'fails', skip: 'skipped' }],
];

describe('bindImage: require / prefer / skip', () => {
  for (const [situation, byMode] of TABLE) {
    for (const mode of ['require', 'prefer', 'skip'] as const) {
      it(`${situation} under binding = "${mode}": ${byMode[mode]}`, async () => {
        const { registry, image: local } = setUp(situation);
        const run = bindImage(registry, config(mode), container, local, AbortSignal.timeout(5_000), silentLogger);
        const expected = byMode[mode];
        if (expected.startsWith('fails')) {
          const code = expected.split(' ')[1];
          if (code === undefined) await expect(run).rejects.toBeInstanceOf(TypeError);
          else expect(await codeRejected(run)).toBe(code);
          return;
        }
        const report = await run;
        expect(report.outcome).toBe(expected);
        // Digest selectors only for a bound image.
        const selectors = report.outcome === 'bound' ? bindingSelectors(report) : [];
        expect(selectors.some((s) => s.startsWith('image_digest:'))).toBe(expected === 'bound');
        if (mode === 'skip') expect(registry.calls).toBe(0);
      });
    }
  }
});

describe('bindingSelectors', () => {
  it('names the manifest, the index when there is one, the repository and the binding', () => {
    const base = { outcome: 'bound', manifestDigest: 'sha256:m', reference: { registry: REGISTRY, repository: 'acme/app' } } as const;
    expect(bindingSelectors(base)).toEqual(['image_binding:bound', 'image_digest:sha256:m', `image_repository:${REGISTRY}/acme/app`]);
    expect(bindingSelectors({ ...base, indexDigest: 'sha256:i' })).toContain('image_digest:sha256:i');
    expect(bindingSelectors({ outcome: 'not-bound' })).toEqual([]);
  });
});
