// Trust material: the Sigstore trusted root (Fulcio CAs, Rekor logs, CT
// logs, TSAs) and the configured public keys. Loaded once at configure time;
// verification afterwards is synchronous and offline.
//
// The default root is the public-good trusted_root.json shipped inside
// @sigstore/tuf's seeds.json (TrustSource refreshes it through TUF unless
// offline). A configured trusted_root_file replaces it (like cosign
// --trusted-root); trusted_root blocks configure several roots, each a
// TrustContext of its own (trust-roots.ts).

import { createHash, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { getAsset, isSea } from 'node:sea';

import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, VerificationError, toTrustMaterial } from '@sigstore/verify';

import { readFailure, readTrustedFile } from '../util/trusted-path.js';
import { SignatureError, messageOf } from './errors.js';
import { PUBLIC_GOOD_TUF } from './tuf.js';

import type { KeyObject } from 'node:crypto';
import type { KeyFinderFunc, TrustMaterial } from '@sigstore/verify';
import type { KeyRule } from './types.js';

const TRUSTED_ROOT_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.1+json',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
];
const MIN_RSA_BITS = 2048;
export const EMBEDDED_ROOT_SOURCE = 'the embedded Sigstore public-good trusted root';
// A trusted_root.json or PEM key larger than this is not one.
const MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024;

export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'rsa';

export interface ConfiguredKey {
  readonly name: string;
  readonly path: string;
  readonly algorithm: KeyAlgorithm;
  readonly key: KeyObject;
  // DER SubjectPublicKeyInfo, to compare with keys recorded in tlog entries.
  readonly spki: Buffer;
}

// Which Verifier: thresholds differ between keyless and key signatures and
// with the policy's require_tlog / require_sct.
export interface VerifierMode {
  readonly keyless: boolean;
  readonly requireTlog: boolean;
  readonly requireSct: boolean;
}

export interface TrustContext {
  // The root's configured name (trusted_root "<name>"; "default" or
  // "public-good" for the one-root settings): what VerifiedSignature and
  // the rules' trusted_roots name.
  readonly name: string;
  // Where the trusted root came from, for messages.
  readonly rootSource: string;
  // This root's own require_tlog / require_sct (trusted_root blocks);
  // undefined: the policy's (the one-root settings).
  readonly requireTlog: boolean | undefined;
  readonly requireSct: boolean | undefined;
  readonly material: TrustMaterial;
  readonly keys: ReadonlyMap<string, ConfiguredKey>;
  // What the root trusts, as a digest of its trusted_root.json, its
  // requirements and its keys: stable across restarts, so that verdicts
  // persisted under it can be told from verdicts reached under another.
  readonly fingerprint: string;
  // A Verifier for `mode`, built once and cached.
  verifier(mode: VerifierMode): Verifier;
}

// The trusted root: one already read and checked (`root`, e.g. from the TUF
// cache), else trustedRootFile, else the embedded public-good root.
export async function loadTrust(config: {
  root?: { readonly json: unknown; readonly source: string };
  trustedRootFile: string | undefined;
  keys: readonly KeyRule[];
}): Promise<TrustContext> {
  const root =
    config.root ??
    (config.trustedRootFile === undefined
      ? { json: await embeddedTrustedRoot(), source: EMBEDDED_ROOT_SOURCE }
      : { json: await readTrustedRootFile(config.trustedRootFile), source: config.trustedRootFile });
  return createTrust(root.json, root.source, await loadKeys(config.keys));
}

// The configured PEM keys, read and parsed (KEY_INVALID naming the key).
export async function loadKeys(rules: readonly KeyRule[]): Promise<ConfiguredKey[]> {
  return Promise.all(rules.map(async (rule) => parseKey(rule.name, await readKeyFile(rule), rule.path)));
}

// A root's identity and its own requirements (see TrustContext).
export interface RootOptions {
  readonly name: string;
  readonly requireTlog: boolean | undefined;
  readonly requireSct: boolean | undefined;
}

const ONE_ROOT: RootOptions = { name: 'default', requireTlog: undefined, requireSct: undefined };

// Builds a TrustContext from a parsed trusted_root.json and parsed keys.
export function createTrust(rootJson: unknown, rootSource: string, keys: readonly ConfiguredKey[], root: RootOptions = ONE_ROOT): TrustContext {
  const byName = new Map<string, ConfiguredKey>();
  for (const key of keys) {
    if (byName.has(key.name)) throw new SignatureError('KEY_INVALID', `key name ${JSON.stringify(key.name)} is configured twice`);
    byName.set(key.name, key);
  }
  const material = toMaterial(rootJson, rootSource, keyFinder(byName));
  const verifiers = new Map<string, Verifier>();
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ root: rootJson, name: root.name, tlog: root.requireTlog ?? null, sct: root.requireSct ?? null }))
    .update(JSON.stringify(keys.map((k) => [k.name, k.spki.toString('base64')])))
    .digest('hex');
  return {
    name: root.name,
    fingerprint,
    rootSource,
    requireTlog: root.requireTlog,
    requireSct: root.requireSct,
    material,
    keys: byName,
    verifier(mode: VerifierMode): Verifier {
      const id = `${mode.keyless}/${mode.requireTlog}/${mode.requireSct}`;
      let verifier = verifiers.get(id);
      if (verifier === undefined) {
        verifier = new Verifier(material, {
          tlogThreshold: mode.requireTlog ? 1 : 0,
          // SCTs only exist for certificates.
          ctlogThreshold: mode.keyless && mode.requireSct ? 1 : 0,
          // A certificate is checked at trusted times (tlog integrated time,
          // RFC3161 genTime); a configured key has no validity window, like
          // cosign, which checks no time for --key.
          timestampThreshold: mode.keyless ? 1 : 0,
        });
        verifiers.set(id, verifier);
      }
      return verifier;
    },
  };
}

// Key lookup by hint, in @sigstore/verify's KeyFinderFunc shape. The hint is
// the configured key's name (never a hint taken from a signature).
export function keyFinder(keys: ReadonlyMap<string, ConfiguredKey>): KeyFinderFunc {
  return (hint: string) => {
    const key = keys.get(hint);
    if (key === undefined) {
      throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: `no configured key named ${JSON.stringify(hint)}` });
    }
    return { publicKey: key.key, validFor: () => true };
  };
}

// Parses one PEM public key; errors name the key.
export function parseKey(name: string, pem: string, path: string): ConfiguredKey {
  const fail = (reason: string): never => {
    throw new SignatureError('KEY_INVALID', `key ${JSON.stringify(name)} (${path}): ${reason}`);
  };
  const blocks = pem.match(/-----BEGIN [A-Z0-9 ]+-----/g) ?? [];
  if (blocks.length !== 1 || blocks[0] !== '-----BEGIN PUBLIC KEY-----') {
    fail('expected exactly one PEM "PUBLIC KEY" block (PKIX SubjectPublicKeyInfo)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    return fail(`not a valid public key: ${messageOf(err)}`);
  }
  const algorithm = keyAlgorithm(key);
  if (algorithm === undefined) {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return fail(`unsupported key type ${key.asymmetricKeyType ?? '?'}${curve ? ` (${curve})` : ''}; use ECDSA P-256/P-384, Ed25519 or RSA`);
  }
  if (algorithm === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    fail(`RSA keys must have at least ${MIN_RSA_BITS} bits`);
  }
  return Object.freeze({ name, path, algorithm, key, spki: key.export({ format: 'der', type: 'spki' }) });
}

function keyAlgorithm(key: KeyObject): KeyAlgorithm | undefined {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return 'ecdsa-p256';
      if (curve === 'secp384r1') return 'ecdsa-p384';
      return undefined;
    }
    case 'ed25519':
      return 'ed25519';
    case 'rsa':
      return 'rsa';
    default:
      return undefined;
  }
}

function toMaterial(rootJson: unknown, source: string, keys: KeyFinderFunc): TrustMaterial {
  const fail = (reason: string): never => {
    throw new SignatureError('TRUST_ROOT_INVALID', `trusted root ${source}: ${reason}`);
  };
  if (typeof rootJson !== 'object' || rootJson === null || Array.isArray(rootJson)) return fail('not a JSON object');
  const mediaType = (rootJson as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPES.includes(mediaType)) {
    fail(`unsupported mediaType ${JSON.stringify(mediaType)} (expected one of ${TRUSTED_ROOT_MEDIA_TYPES.join(', ')})`);
  }
  const undated = entriesWithoutValidityStart(rootJson as Record<string, unknown>);
  if (undated.length > 0) {
    // @sigstore/verify would read a missing start as the epoch: valid for
    // any signature ever made.
    fail(`${undated.join(', ')} ${undated.length === 1 ? 'has' : 'have'} no validFor.start; every key and CA needs the time its validity starts`);
  }
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(TrustedRoot.fromJSON(rootJson), keys);
  } catch (err) {
    return fail(messageOf(err));
  }
  if (material.certificateAuthorities.length === 0 && material.tlogs.length === 0) {
    fail('it has neither certificate authorities nor transparency logs');
  }
  return material;
}

// Which tlog, CT log, CA and TSA entries lack validFor.start (where the
// trusted_root.json format keeps it: publicKey.validFor for logs, validFor
// for authorities).
function entriesWithoutValidityStart(root: Record<string, unknown>): string[] {
  const where = [
    ['tlogs', (e: Record<string, unknown>) => field(e, 'publicKey')],
    ['ctlogs', (e: Record<string, unknown>) => field(e, 'publicKey')],
    ['certificateAuthorities', (e: Record<string, unknown>) => e],
    ['timestampAuthorities', (e: Record<string, unknown>) => e],
  ] as const;
  const out: string[] = [];
  for (const [list, holder] of where) {
    const entries = root[list];
    if (!Array.isArray(entries)) continue;
    entries.forEach((entry: unknown, i) => {
      const validFor = field(holder(isObject(entry) ? entry : {}), 'validFor');
      const start = validFor['start'];
      if (typeof start !== 'string' || start === '') out.push(`${list}[${i}]`);
    });
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: Record<string, unknown>, name: string): Record<string, unknown> {
  const inner = value[name];
  return isObject(inner) ? inner : {};
}

export async function embeddedTrustedRoot(): Promise<unknown> {
  // The single-executable build embeds seeds.json as an asset (scripts/build-sea.mjs).
  const path = isSea() ? 'embedded seeds.json' : createRequire(import.meta.url).resolve('@sigstore/tuf/seeds.json');
  try {
    const seeds = JSON.parse(isSea() ? getAsset('seeds.json', 'utf8') : await readFile(path, 'utf8')) as Record<string, { targets?: Record<string, string> }>;
    const encoded = seeds[PUBLIC_GOOD_TUF]?.targets?.['trusted_root.json'];
    if (encoded === undefined) throw new Error(`no trusted_root.json for ${PUBLIC_GOOD_TUF}`);
    return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as unknown;
  } catch (err) {
    throw new SignatureError('TRUST_ROOT_INVALID', `embedded trusted root (${path}): ${messageOf(err)}`, { cause: err });
  }
}

export async function readTrustedRootFile(path: string): Promise<unknown> {
  const read = readTrustedFile(path, MAX_TRUST_FILE_BYTES);
  if (!read.ok) throw new SignatureError('TRUST_ROOT_INVALID', `trusted root ${path}: ${readFailure(read)}`);
  const text = read.bytes.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SignatureError('TRUST_ROOT_INVALID', `trusted root ${path}: not JSON: ${messageOf(err)}`, { cause: err });
  }
}

async function readKeyFile(rule: KeyRule): Promise<string> {
  const read = readTrustedFile(rule.path, MAX_TRUST_FILE_BYTES);
  if (!read.ok) throw new SignatureError('KEY_INVALID', `key ${JSON.stringify(rule.name)} (${rule.path}): ${readFailure(read)}`);
  return read.bytes.toString('utf8');
}
