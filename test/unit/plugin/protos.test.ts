// The plugin protocol's compiled encoders (proto/generated/plugin.js, from
// scripts/gen-protos.mjs) against the .proto files themselves, loaded by
// @grpc/proto-loader: the same services and methods, and each message
// encoded by one and decoded by the other gives the same object.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';

import { PLUGIN_PROTO_FILES, SERVICE, serviceDefinition } from '../../../src/plugin/protos.js';
import { PROTO_DIR, PROTO_LOAD_OPTIONS } from '../../../src/util/protos.js';

import type { MethodDefinition } from '@grpc/grpc-js';

const fromFiles = protoLoader.loadSync([...PLUGIN_PROTO_FILES], { ...PROTO_LOAD_OPTIONS, includeDirs: [PROTO_DIR] });

type Methods = Record<string, MethodDefinition<object, object>>;

function loaded(name: string): Methods {
  return fromFiles[name] as unknown as Methods;
}

// A sample of each request and response type (by its short name), with
// every field set; a type not named here is sent empty.
const CONFIG = { core_configuration: { trust_domain: 'example.org' }, hcl_configuration: 'a = 1' };
const LABELS = [{ name: 'result', value: 'ok' }];
const SAMPLES: Record<string, object> = {
  ConnInfo: { service_id: 7, network: 'unix', address: '/tmp/x.sock', knock: { knock: true, ack: false, error: 'e' } },
  StdioData: { channel: 'STDERR', data: Buffer.from('line\n') },
  HealthCheckRequest: { service: 'plugin' },
  HealthCheckResponse: { status: 'SERVING' },
  InitRequest: { host_service_names: ['a.B', 'c.D'] },
  InitResponse: { plugin_service_names: ['spire.plugin.agent.workloadattestor.v1.WorkloadAttestor'] },
  ConfigureRequest: CONFIG,
  ValidateRequest: CONFIG,
  ValidateResponse: { valid: true, notes: ['n'] },
  AttestRequest: { pid: 4242 },
  AttestResponse: { selector_values: ['image-signed:true', 'signer:x'] },
  SetGaugeRequest: { key: ['a', 'b'], val: 1.5, labels: LABELS },
  EmitKeyRequest: { key: ['a'], val: 3 },
  IncrCounterRequest: { key: ['sigstore', 'attests'], val: 2.5, labels: LABELS },
  AddSampleRequest: { key: ['a'], val: 0.25, labels: LABELS },
  MeasureSinceRequest: { key: ['a'], time: '1700000000000000000', labels: LABELS },
};

// proto-loader hands bytes fields out as Buffers, the compiled decoder as
// Uint8Arrays (it reads a Uint8Array view): the same bytes.
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function typeName(def: MethodDefinition<object, object>, side: 'request' | 'response'): string {
  const method = def as unknown as { requestType?: { type: { name: string } }; responseType?: { type: { name: string } } };
  const t = side === 'request' ? method.requestType : method.responseType;
  return t?.type.name ?? '';
}

describe('plugin protocol protos (compiled)', () => {
  it('are what scripts/gen-protos.mjs makes of the .proto files now', () => {
    expect(() => execFileSync(process.execPath, [join(PROTO_DIR, '..', 'scripts', 'gen-protos.mjs'), '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  for (const name of Object.values(SERVICE)) {
    it(`${name}: the same methods, paths and stream flags as the .proto files`, () => {
      const ours = serviceDefinition(name);
      const theirs = loaded(name);
      expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
      for (const [method, def] of Object.entries(theirs)) {
        const mine = ours[method];
        expect(mine && [mine.path, mine.requestStream, mine.responseStream, mine.originalName]).toEqual([
          def.path,
          def.requestStream,
          def.responseStream,
          def.originalName,
        ]);
      }
    });

    it(`${name}: each message round-trips between the compiled code and proto-loader`, () => {
      const ours = serviceDefinition(name) as Methods;
      for (const [method, def] of Object.entries(loaded(name))) {
        const mine = ours[method];
        if (!mine) throw new Error(`no ${method}`);
        for (const side of ['request', 'response'] as const) {
          const sample = SAMPLES[typeName(def, side)] ?? {};
          const [ser, de] =
            side === 'request' ? (['requestSerialize', 'requestDeserialize'] as const) : (['responseSerialize', 'responseDeserialize'] as const);
          const bytes = mine[ser](sample);
          expect(plain(mine[de](bytes))).toEqual(plain(def[de](bytes)));
          if (Object.keys(sample).length > 0) expect(bytes.length).toBeGreaterThan(0);
          expect(plain(mine[de](def[ser](sample)))).toEqual(plain(def[de](bytes)));
        }
      }
    });
  }

  it('decodes strictly: a string field longer than the bytes left is an error', () => {
    const def = (serviceDefinition(SERVICE.workloadAttestor) as Methods)['Attest'];
    if (!def) throw new Error('no Attest');
    // AttestResponse.selector_values (field 1, length-delimited) claims 10 bytes, has 3.
    expect(() => def.responseDeserialize(Buffer.from([0x0a, 10, 0x61, 0x62, 0x63]))).toThrow();
  });
});
