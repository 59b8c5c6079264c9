// The tlog key binding for every Rekor entry kind the verifier can meet.

import { describe, expect, it } from 'vitest';

import { checkTLogKeyBinding, recordedSigners } from '../../../src/verify/tlogbody.js';
import { ecKeys, pem } from './support/rig.js';
import { rejects } from './support/setup.js';

import type { TransparencyLogEntry } from '@sigstore/bundle';

const certDer = Buffer.from('3003020101', 'hex'); // any bytes: only compared
const otherDer = Buffer.from('3003020102', 'hex');
const key = ecKeys().publicKey.export({ format: 'der', type: 'spki' });
const b64pem = (der: Buffer, label = 'CERTIFICATE') => Buffer.from(pem(der, label)).toString('base64');
const body = (value: object) => Buffer.from(JSON.stringify(value));
const entry = (value: object) => ({ canonicalizedBody: body(value) }) as unknown as TransparencyLogEntry;

const bodies = {
  'hashedrekord/0.0.1': (pemB64: string) => ({
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: { signature: { content: 'x', publicKey: { content: pemB64 } } },
  }),
  'dsse/0.0.1': (pemB64: string) => ({ apiVersion: '0.0.1', kind: 'dsse', spec: { signatures: [{ signature: 'x', verifier: pemB64 }] } }),
  'intoto/0.0.2': (pemB64: string) => ({ apiVersion: '0.0.2', kind: 'intoto', spec: { content: { envelope: { signatures: [{ publicKey: pemB64 }] } } } }),
};

describe('recordedSigners / checkTLogKeyBinding', () => {
  it.each(Object.entries(bodies))('%s: binds the certificate and refuses another', (_kind, make) => {
    expect(recordedSigners(body(make(b64pem(certDer))))).toEqual([{ kind: 'certificate', der: certDer }]);
    checkTLogKeyBinding([entry(make(b64pem(certDer)))], { kind: 'certificate', der: certDer });
    rejects(() => checkTLogKeyBinding([entry(make(b64pem(otherDer)))], { kind: 'certificate', der: certDer }), 'TLOG_KEY_MISMATCH');
    rejects(() => checkTLogKeyBinding([entry(make(b64pem(key, 'PUBLIC KEY')))], { kind: 'certificate', der: certDer }), 'TLOG_KEY_MISMATCH');
    checkTLogKeyBinding([entry(make(b64pem(key, 'PUBLIC KEY')))], { kind: 'key', name: 'k', spki: key });
  });

  it('reads Rekor v2 verifiers (DER, not PEM)', () => {
    const hr = {
      apiVersion: '0.0.2',
      kind: 'hashedrekord',
      spec: {
        hashedRekordV002: {
          signature: { content: 'x', verifier: { x509Certificate: { rawBytes: certDer.toString('base64') }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } },
        },
      },
    };
    checkTLogKeyBinding([entry(hr)], { kind: 'certificate', der: certDer });
    const ds = {
      apiVersion: '0.0.2',
      kind: 'dsse',
      spec: { dsseV002: { signatures: [{ content: 'x', verifier: { publicKey: { rawBytes: key.toString('base64') } } }] } },
    };
    checkTLogKeyBinding([entry(ds)], { kind: 'key', name: 'k', spki: key });
    rejects(() => checkTLogKeyBinding([entry(ds)], { kind: 'certificate', der: certDer }), 'TLOG_KEY_MISMATCH');
  });

  it('fails closed on unknown kinds and malformed bodies', () => {
    rejects(() => recordedSigners(body({ apiVersion: '0.0.1', kind: 'rekord', spec: {} })), 'UNSUPPORTED');
    rejects(() => recordedSigners(body({ apiVersion: '0.0.1', kind: 'hashedrekord', spec: {} })), 'SIGNATURE_MALFORMED');
    rejects(() => recordedSigners(Buffer.from('nope')), 'SIGNATURE_MALFORMED');
    rejects(
      () => checkTLogKeyBinding([entry({ apiVersion: '0.0.1', kind: 'dsse', spec: { signatures: [] } })], { kind: 'certificate', der: certDer }),
      'TLOG_KEY_MISMATCH',
      /records no/,
    );
  });
});
