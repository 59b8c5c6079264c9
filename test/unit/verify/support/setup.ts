// Shared test setup: a mock Sigstore, a TrustContext loaded from files the
// way the attestor loads them, and helpers for policies and error checks.

import { generateKeyPairSync } from 'node:crypto';

import { expect } from 'vitest';

import { rejected, thrown } from '../../../support/errors.js';

import { compilePolicy } from '../../../../src/policy/compile.js';
import { SignatureError } from '../../../../src/verify/errors.js';
import { loadTrust } from '../../../../src/verify/trust.js';
import { ISSUER, SUBJECT, ecKeys, mockSigstore, tempDir, writeJson, writeKey } from './rig.js';

import type { IdentityRule, PolicyRules } from '../../../../src/policy/types.js';
import type { CompiledPolicy } from '../../../../src/policy/types.js';
import type { SignatureErrorCode } from '../../../../src/verify/errors.js';
import type { TrustContext } from '../../../../src/verify/trust.js';
import type { KeyPair, MockSigstore } from './rig.js';

export const KEY_NAMES = ['p256', 'p384', 'ed25519', 'rsa'] as const;
export type KeyName = (typeof KEY_NAMES)[number];

export interface Setup {
  readonly sigstore: MockSigstore;
  readonly trust: TrustContext;
  readonly keys: Readonly<Record<KeyName, KeyPair>>;
  readonly dir: string;
}

export async function setup(options: { ct?: boolean } = {}): Promise<Setup> {
  const sigstore = await mockSigstore(options);
  const dir = tempDir();
  const keys: Record<KeyName, KeyPair> = {
    p256: ecKeys('P-256'),
    p384: ecKeys('P-384'),
    ed25519: generateKeyPairSync('ed25519'),
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  };
  const trust = await loadTrust({
    trustedRootFile: writeJson(dir, 'trusted_root.json', sigstore.trustedRoot),
    keys: KEY_NAMES.map((name) => ({ name, path: writeKey(dir, name, keys[name].publicKey) })),
  });
  return { sigstore, trust, keys, dir };
}

export const IDENTITY: IdentityRule = { issuer: ISSUER, subject: SUBJECT, claims: {} };

export function policy(config: Partial<PolicyRules> = {}): CompiledPolicy {
  return compilePolicy({
    identities: [IDENTITY],
    keys: [],
    attestations: [],
    requireTlog: true,
    requireSct: true,
    ...config,
  });
}

export function keyPolicy(names: readonly KeyName[], config: Partial<PolicyRules> = {}): CompiledPolicy {
  return policy({ identities: [], keys: names.map((name) => ({ name, path: `/keys/${name}.pub` })), ...config });
}

// Runs `fn`, expects a SignatureError with `code` (and `message`), returns its message.
export function rejects(fn: () => unknown, code: SignatureErrorCode, message?: RegExp): string {
  return expectSignatureError(thrown(fn, SignatureError), code, message);
}

export async function rejectsAsync(fn: () => Promise<unknown>, code: SignatureErrorCode, message?: RegExp): Promise<string> {
  return expectSignatureError(await rejected(fn(), SignatureError), code, message);
}

function expectSignatureError(err: SignatureError, code: SignatureErrorCode, message: RegExp | undefined): string {
  if (process.env['SHOW_ERRORS']) console.log(`${err.code}: ${err.message}`);
  expect({ code: err.code, message: err.message }).toMatchObject({ code });
  if (message) expect(err.message).toMatch(message);
  return err.message;
}
