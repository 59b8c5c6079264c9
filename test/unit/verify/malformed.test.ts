// Garbage in annotations, bundles and payloads fails closed with a typed
// error (never a stray TypeError), and payload keys are read the strict way.

import { beforeAll, describe, expect, it } from 'vitest';

import { SignatureError } from '../../../src/verify/errors.js';
import { verifyCandidate } from '../../../src/verify/verify.js';
import { keyedLegacy, keylessLegacy, legacyCandidate, randomDigest, signPayload } from './support/rig.js';
import { keyPolicy, policy, rejects, setup } from './support/setup.js';

import type { Digest } from '../../../src/registry/types.js';
import type { LegacyCandidate } from '../../../src/verify/types.js';
import type { Setup } from './support/setup.js';

let s: Setup;
let good: LegacyCandidate;
let rekor: { SignedEntryTimestamp: string; Payload: { body: string; integratedTime: number; logIndex: number; logID: string } };

beforeAll(async () => {
  s = await setup();
  good = (await keylessLegacy(s.sigstore, randomDigest())).candidate;
  rekor = JSON.parse(good.annotations['dev.sigstore.cosign/bundle'] ?? '') as typeof rekor;
});

function withAnnotations(changes: Record<string, string | undefined>): LegacyCandidate {
  const annotations: Record<string, string> = { ...good.annotations };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete annotations[k];
    else annotations[k] = v;
  }
  return { ...good, annotations };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('garbage annotations', () => {
  const SIG = 'dev.cosignproject.cosign/signature';
  const CERT = 'dev.sigstore.cosign/certificate';
  const BUNDLE = 'dev.sigstore.cosign/bundle';
  const TSA = 'dev.sigstore.cosign/rfc3161timestamp';
  const bundleWith = (payload: Record<string, unknown>, top: Record<string, unknown> = {}): string =>
    JSON.stringify({ SignedEntryTimestamp: rekor.SignedEntryTimestamp, Payload: { ...rekor.Payload, ...payload }, ...top });

  it.each<[string, () => Record<string, string | undefined>]>([
    ['missing signature', () => ({ [SIG]: undefined })],
    ['empty signature', () => ({ [SIG]: '' })],
    ['non-base64 signature', () => ({ [SIG]: 'not base64!' })],
    ['certificate that is not PEM', () => ({ [CERT]: 'garbage' })],
    ['certificate PEM of another type', () => ({ [CERT]: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' })],
    ['certificate PEM holding garbage DER', () => ({ [CERT]: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' })],
    ['bundle that is not JSON', () => ({ [BUNDLE]: '{"SignedEntryTimestamp":' })],
    ['bundle that is a list', () => ({ [BUNDLE]: '[]' })],
    ['bundle with numeric body', () => ({ [BUNDLE]: bundleWith({ body: 42 }) })],
    ['bundle with non-hex logID', () => ({ [BUNDLE]: bundleWith({ logID: 'zz' }) })],
    ['bundle with short logID', () => ({ [BUNDLE]: bundleWith({ logID: 'c0d2' }) })],
    ['bundle with negative integratedTime', () => ({ [BUNDLE]: bundleWith({ integratedTime: -1 }) })],
    ['bundle with string logIndex', () => ({ [BUNDLE]: bundleWith({ logIndex: '7' }) })],
    ['bundle with fractional integratedTime', () => ({ [BUNDLE]: bundleWith({ integratedTime: 1.5 }) })],
    ['bundle whose body is not base64', () => ({ [BUNDLE]: bundleWith({ body: '%%%' }) })],
    ['bundle whose body is not JSON', () => ({ [BUNDLE]: bundleWith({ body: b64('hello') }) })],
    ['bundle whose body has no kind', () => ({ [BUNDLE]: bundleWith({ body: b64('{"apiVersion":"0.0.1"}') }) })],
    ['bundle with non-base64 SET', () => ({ [BUNDLE]: JSON.stringify({ ...JSON.parse(bundleWith({})), SignedEntryTimestamp: '***' }) })],
    ['bundle with a case-variant key', () => ({ [BUNDLE]: JSON.stringify({ signedEntryTimestamp: rekor.SignedEntryTimestamp, Payload: rekor.Payload }) })],
    ['bundle with a duplicate key', () => ({ [BUNDLE]: bundleWith({}).replace('"Payload"', '"Payload":{},"Payload"') })],
    ['rfc3161 annotation that is not JSON', () => ({ [TSA]: 'nope' })],
    ['rfc3161 annotation without the token', () => ({ [TSA]: '{}' })],
    ['rfc3161 token that is not DER', () => ({ [TSA]: JSON.stringify({ SignedRFC3161Timestamp: 'AAAA' }) })],
  ])('%s → SIGNATURE_MALFORMED', (_name, changes) => {
    rejects(() => verifyCandidate(withAnnotations(changes()), s.trust, policy()), 'SIGNATURE_MALFORMED');
  });

  it('refuses rekord-kind entries (cosign < 1.4) as unsupported', () => {
    const body = b64(JSON.stringify({ apiVersion: '0.0.1', kind: 'rekord', spec: {} }));
    rejects(() => verifyCandidate(withAnnotations({ [BUNDLE]: bundleWith({ body }) }), s.trust, policy()), 'UNSUPPORTED', /rekord/);
  });

  it('never throws anything but a SignatureError for random annotation bytes', () => {
    const keys = [SIG, CERT, BUNDLE, TSA];
    for (let i = 0; i < 200; i++) {
      const key = keys[i % keys.length] ?? SIG;
      const junk = Buffer.from(Array.from({ length: (i * 7) % 90 }, (_, j) => (i * 31 + j * 17) % 256)).toString('latin1');
      try {
        verifyCandidate(withAnnotations({ [key]: junk }), s.trust, policy());
      } catch (err) {
        expect(err).toBeInstanceOf(SignatureError);
      }
    }
  });
});

describe('simple-signing payload parsing (parser-differential hardening)', () => {
  const d = randomDigest();
  const other: Digest = randomDigest();
  const payloadWithImage = (image: string, outer = '"critical"'): Buffer =>
    Buffer.from(`{${outer}:{"identity":{"docker-reference":"r"},"image":{${image}},"type":"cosign container image signature"},"optional":null}`);

  async function signed(payload: Buffer): Promise<LegacyCandidate> {
    const sig = signPayload(payload, s.keys.p256.privateKey);
    return legacyCandidate(d, payload, { 'dev.cosignproject.cosign/signature': sig.toString('base64') });
  }
  const p = () => keyPolicy(['p256'], { requireTlog: false });

  it('accepts the exact cosign payload', async () => {
    expect((await keyedLegacy(s.sigstore, d, s.keys.p256, { tlog: false })).payload.toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"registry.test/acme/app"},"image":{"docker-manifest-digest":"${d}"},"type":"cosign container image signature"},"optional":null}`,
    );
    expect(verifyCandidate(await signed(payloadWithImage(`"docker-manifest-digest":"${d}"`)), s.trust, p()).signer).toEqual({ kind: 'key', keyName: 'p256' });
  });

  it.each([
    ['an exact duplicate key', `"docker-manifest-digest":"${d}","docker-manifest-digest":"${d}"`],
    ['a case variant after the key', `"docker-manifest-digest":"${d}","Docker-manifest-digest":"${other}"`],
    ['a case variant before the key', `"DOCKER-MANIFEST-DIGEST":"${other}","docker-manifest-digest":"${d}"`],
    ['only a case variant (Go would accept it)', `"Docker-manifest-digest":"${d}"`],
    ['a Kelvin-sign variant (Go folds K to k)', `"docker-manifest-digest":"${d}","doc\u212Aer-manifest-digest":"${other}"`],
    ['a long-s variant (Go folds ſ to s)', `"docker-manifest-digest":"${d}","docker-manifeſt-digest":"${other}"`],
    ['an escaped duplicate', `"docker-manifest-digest":"${d}","\\u0064ocker-manifest-digest":"${other}"`],
  ])('rejects %s', async (_name, image) => {
    const c = await signed(payloadWithImage(image));
    rejects(() => verifyCandidate(c, s.trust, p()), 'SIGNATURE_MALFORMED', /duplicate or case-variant|case variant/);
  });

  it.each<[string, Buffer]>([
    ['a case-variant "Critical"', payloadWithImage(`"docker-manifest-digest":"${d}"`, '"Critical"')],
    ['a digest that is not a string', payloadWithImage('"docker-manifest-digest":1')],
    ['no digest at all', payloadWithImage('')],
    ['trailing data', Buffer.concat([payloadWithImage(`"docker-manifest-digest":"${d}"`), Buffer.from('{}')])],
    [
      'invalid UTF-8',
      Buffer.concat([
        payloadWithImage(`"docker-manifest-digest":"${d}"`).subarray(0, 40),
        Buffer.from([0xff]),
        payloadWithImage(`"docker-manifest-digest":"${d}"`).subarray(40),
      ]),
    ],
    ['a byte-order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), payloadWithImage(`"docker-manifest-digest":"${d}"`)])],
    ['not JSON', Buffer.from('critical: yes')],
  ])('rejects a payload with %s', async (_name, payload) => {
    const c = await signed(payload);
    rejects(() => verifyCandidate(c, s.trust, p()), 'SIGNATURE_MALFORMED');
  });
});
