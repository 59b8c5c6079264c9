// Minimal DER surgery for negative tests: re-sign a certificate after
// patching its TBS bytes, with the real CA key (so the chain still verifies
// and only the patched property is wrong).

import { sign } from 'node:crypto';

import { ASN1Obj } from '@sigstore/core';

import type { KeyObject } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

// The mock CA signs with ECDSA SHA-384.
export function resign(certDer: Buffer, caKey: KeyObject, patch: (tbs: Buffer) => Buffer): Buffer {
  const cert = ASN1Obj.parseBuffer(Buffer.from(certDer));
  const [tbsObj, algObj] = cert.subs;
  if (tbsObj === undefined || algObj === undefined) throw new Error('not a certificate');
  const tbs = patch(tbsObj.toDER());
  const signature = sign('sha384', tbs, caKey);
  return tlv(0x30, Buffer.concat([tbs, algObj.toDER(), tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
}

// Replaces every occurrence of `from` with `to` (same length).
export function replaceBytes(buf: Buffer, from: Buffer, to: Buffer): Buffer {
  if (from.length !== to.length) throw new Error('replacement must keep the length');
  const out = Buffer.from(buf);
  let at = out.indexOf(from);
  if (at < 0) throw new Error('pattern not found');
  while (at >= 0) {
    to.copy(out, at);
    at = out.indexOf(from, at + to.length);
  }
  return out;
}

// OID 1.3.6.1.5.5.7.3.3 (codeSigning) and 1.3.6.1.5.5.7.3.1 (serverAuth), DER.
export const OID_CODE_SIGNING = Buffer.from('06082b06010505070303', 'hex');
export const OID_SERVER_AUTH = Buffer.from('06082b06010505070301', 'hex');
