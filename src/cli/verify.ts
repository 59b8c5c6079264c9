// `verify <image-ref>`: discovery, verification and policy for an image in
// its registry, without a container: signatures and attestations. `--bundle
// <file>` verifies a Sigstore bundle file (signature or attestation) for
// `<image>@<digest>` instead, fully offline.

import { readFile } from 'node:fs/promises';

import { registryClientOptions } from '../app/compose.js';
import { acceptCandidates, checkSignatures, readyTrust } from '../attest/signature-step.js';
import { TrustSource } from '../verify/trust-source.js';
import { AttestorError, messageOf } from '../errors.js';
import { silentLogger } from '../log.js';
import { createRegistryClient, nodePlatform, parseReference, selectPlatform } from '../registry/index.js';
import { normalizeSelectors, selector, SELECTOR } from '../selectors/names.js';
import { attestationSelectors } from '../selectors/attestation.js';
import { signatureSelectors } from '../selectors/signature.js';

import type { AcceptedAttestation, SignatureReport } from '../attest/signature-step.js';
import type { PluginConfig, SignerSelectorMode } from '../config/types.js';
import type { Descriptor, Digest, FetchedManifest, ImageReference } from '../registry/types.js';

export interface VerifyResult {
  image: string;
  digest: Digest;
  // At least one signature or attestation rule holds.
  verified: boolean;
  selectors: string[];
  signatures: SignatureEntry[];
  attestations: AttestationEntry[];
}

interface AttestationEntry {
  format: string;
  digest: string;
  predicateType?: string;
  verified: boolean;
  subject?: string;
  issuer?: string;
  key?: string;
  // The trusted root it verified under.
  trustedRoot?: string;
  // The attestation rules this one attestation satisfies whole.
  rules?: readonly string[];
  selectors?: readonly string[];
  error?: string;
}

interface SignatureEntry {
  format: string;
  digest: string;
  verified: boolean;
  subject?: string;
  issuer?: string;
  // Named identity rules this signature satisfies whole.
  identities?: readonly string[];
  key?: string;
  // The trusted root it verified under.
  trustedRoot?: string;
  error?: string;
}

function signerFields(signer: AcceptedAttestation['signer']): { subject?: string; issuer?: string; key?: string } {
  return signer.kind === 'key' ? { key: signer.keyName } : { subject: signer.subject, issuer: signer.issuer };
}

function attestationEntries(report: SignatureReport, mode: SignerSelectorMode): AttestationEntry[] {
  const out: AttestationEntry[] = [];
  for (const a of report.attestations) {
    out.push({
      format: a.format,
      digest: a.imageDigest,
      predicateType: a.predicateType,
      verified: true,
      ...signerFields(a.signer),
      trustedRoot: a.trustedRoot,
      rules: a.rules,
      selectors: normalizeSelectors(attestationSelectors([a], mode)),
    });
  }
  for (const r of report.rejected) {
    if (r.kind !== 'attestation') continue;
    out.push({
      format: r.format,
      digest: r.digest,
      ...(r.predicateType !== undefined ? { predicateType: r.predicateType } : {}),
      verified: false,
      error: `${r.code}: ${r.error}`,
    });
  }
  for (const p of report.problems) if (p.format === 'att') out.push({ format: p.format, digest: p.where, verified: false, error: p.error });
  return out;
}

function entries(report: SignatureReport): SignatureEntry[] {
  const out: SignatureEntry[] = [];
  for (const sig of report.accepted) {
    const base = { format: sig.format, digest: sig.imageDigest, verified: true, trustedRoot: sig.trustedRoot };
    out.push(
      sig.signer.kind === 'key'
        ? { ...base, key: sig.signer.keyName }
        : { ...base, subject: sig.signer.subject, issuer: sig.signer.issuer, identities: sig.identityRules },
    );
  }
  for (const r of report.rejected)
    if (r.kind !== 'attestation') out.push({ format: r.format, digest: r.digest, verified: false, error: `${r.code}: ${r.error}` });
  for (const p of report.problems) if (p.format !== 'att') out.push({ format: p.format, digest: p.where, verified: false, error: p.error });
  return out;
}

function result(image: string, digest: Digest, digests: readonly Digest[], report: SignatureReport, mode: SignerSelectorMode): VerifyResult {
  const verified = report.accepted.length > 0 || report.attestations.length > 0;
  const selectors = verified
    ? normalizeSelectors([
        ...digests.map((d) => selector(SELECTOR.imageDigest, d)),
        ...signatureSelectors(report.accepted, mode),
        ...attestationSelectors(report.attestations, mode),
      ])
    : [];
  return { image, digest, verified, selectors, signatures: entries(report), attestations: attestationEntries(report, mode) };
}

// The platform manifest of an index, for this machine (cosign signs the
// index; some also sign each platform manifest).
function platformDigest(fetched: FetchedManifest): Digest | undefined {
  if (fetched.manifest.kind !== 'index') return undefined;
  const entry: Descriptor | undefined = selectPlatform(fetched.manifest, nodePlatform());
  return entry?.digest;
}

export async function verifyInRegistry(config: PluginConfig, imageRef: string, signal: AbortSignal): Promise<VerifyResult> {
  const ref = parseReference(imageRef);
  const trustSource = new TrustSource(config.signatures, silentLogger);
  const registry = createRegistryClient(registryClientOptions(config));
  try {
    const trust = await readyTrust(trustSource);
    const digest = ref.digest ?? (await registry.resolve(ref, signal));
    if (!digest) throw new AttestorError('IMAGE_NOT_FOUND', `${imageRef}: not found in its registry`);
    const at: ImageReference = { registry: ref.registry, repository: ref.repository, digest, original: imageRef };
    const fetched = await registry.getManifest(at, signal);
    if (!fetched) throw new AttestorError('IMAGE_NOT_FOUND', `${imageRef}: manifest ${digest} not found`);
    const child = platformDigest(fetched);
    const digests = child ? [digest, child] : [digest];
    const report = await checkSignatures({ registry, trust, policy: config.signatures.policy, log: silentLogger }, at, digests, signal);
    return result(imageRef, digest, digests, report, config.signatures.signerSelectors);
  } finally {
    trustSource.close();
    await registry.close();
  }
}

// Offline: a bundle file for an image digest, no registry involved.
export async function verifyBundleFile(config: PluginConfig, imageRef: string, bundleFile: string): Promise<VerifyResult> {
  const ref = parseReference(imageRef);
  if (!ref.digest) throw new AttestorError('REFERENCE_INVALID', `--bundle needs the image by digest (<image>@sha256:...), got ${imageRef}`);
  let bundle: unknown;
  try {
    bundle = JSON.parse(await readFile(bundleFile, 'utf8'));
  } catch (err) {
    throw new AttestorError('CONFIG_INVALID', `cannot read bundle file ${bundleFile}: ${messageOf(err)}`);
  }
  const trustSource = new TrustSource(config.signatures, silentLogger);
  try {
    const trust = await readyTrust(trustSource);
    const candidate = { format: 'bundle', imageDigest: ref.digest, bundle, manifestDigest: ref.digest } as const;
    const report = acceptCandidates(trust, config.signatures.policy, [candidate], []);
    return result(imageRef, ref.digest, [ref.digest], report, config.signatures.signerSelectors);
  } finally {
    trustSource.close();
  }
}

export function humanReport(r: VerifyResult): string {
  const lines = [`Verification for ${r.image} (${r.digest}):`];
  if (r.signatures.length === 0) lines.push('  no signatures found');
  for (const a of r.attestations) {
    const who = a.key ? `key ${a.key}` : a.subject ? `${a.subject} (issuer ${a.issuer ?? '?'})` : '';
    const rules = a.rules !== undefined && a.rules.length > 0 ? ` [rule ${a.rules.join(', ')}]` : '';
    lines.push(
      `  ${a.verified ? 'OK  ' : 'FAIL'} attestation ${a.format} ${a.digest} ${a.predicateType ?? '(type unknown)'}${who ? `  ${who}` : ''}${rules}${a.error ? `\n         ${a.error}` : ''}`,
    );
  }
  for (const s of r.signatures) {
    const rules = s.identities !== undefined && s.identities.length > 0 ? ` [identity ${s.identities.join(', ')}]` : '';
    const who = s.key ? `key ${s.key}` : s.subject ? `${s.subject} (issuer ${s.issuer ?? '?'})${rules}` : '';
    lines.push(`  ${s.verified ? 'OK  ' : 'FAIL'} ${s.format.padEnd(6)} ${s.digest}${who ? `  ${who}` : ''}${s.error ? `\n         ${s.error}` : ''}`);
  }
  lines.push(
    r.verified ? 'At least one signature or attestation verified and matched the policy.' : 'No signature or attestation verified and matched the policy.',
  );
  return `${lines.join('\n')}\n`;
}
