// Bound image digests -> signatures and attestations that verify and match
// the policy: the signature step, a function of its inputs. The attestor caches its reports
// per image and trust generation (so warm attestations do no registry I/O
// and no cryptography, and concurrent attestations of one new image share
// one discovery and one verification); the CLI calls it directly.

import { AttestorError, isAttestorError, messageOf } from '../errors.js';
import { describeSigner, evaluate, policyForRoot, satisfiedAttestationRules, satisfiedRuleNames } from '../policy/index.js';
import { discoverSignatures } from '../signatures/discover.js';
import { SignatureError, isSignatureError, rootsOf, underEachRoot, verifyCandidate } from '../verify/index.js';
import { LabelSets, METRIC_KEYS } from './metrics.js';

import type { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { Digest, ImageReference, RegistryApi } from '../registry/types.js';
import type { DiscoveryProblem } from '../signatures/discover.js';
import type { SignatureCandidate, SignatureErrorCode, TrustContext, TrustRoots, VerifiedAttestation, VerifiedSignature } from '../verify/index.js';
import type { TrustSource } from '../verify/trust-source.js';
import type { AttestMetrics } from './metrics.js';

export interface RejectedSignature {
  // What it turned out to be, when verification got that far (a legacy
  // `.sig` is a signature and a `.att` an attestation by where they are).
  readonly kind: 'signature' | 'attestation' | undefined;
  // The attestation's predicate type, once its content was verified.
  readonly predicateType?: string;
  readonly format: SignatureCandidate['format'];
  readonly imageDigest: Digest;
  // Legacy layer digest or bundle referrer manifest digest.
  readonly digest: Digest;
  // Why it proves nothing: a verification code, or INTERNAL for a bug.
  readonly code: SignatureErrorCode | ErrorCode;
  readonly error: string;
}

// A verified signature whose signer the policy accepts, and the names of the
// identity rules that this one signature satisfies whole.
export interface AcceptedSignature extends VerifiedSignature {
  readonly identityRules: readonly string[];
}

// A verified attestation and the attestation rules that this one
// attestation satisfies whole (at least one).
export interface AcceptedAttestation extends VerifiedAttestation {
  readonly rules: readonly string[];
}

export interface SignatureReport {
  readonly accepted: readonly AcceptedSignature[];
  readonly attestations: readonly AcceptedAttestation[];
  readonly rejected: readonly RejectedSignature[];
  readonly problems: readonly DiscoveryProblem[];
}

// What one run of the step needs.
export interface SignatureStep {
  readonly registry: RegistryApi;
  readonly trust: TrustRoots;
  readonly policy: CompiledPolicy;
  readonly log: Logger;
  // Rejections are counted here by code (one per verification, not per
  // attestation: the report is cached).
  readonly metrics?: AttestMetrics;
}

// Discovery in the registry, then verification and policy for every
// candidate. Registry outages reject; a bad candidate is only rejected.
export async function checkSignatures(step: SignatureStep, ref: ImageReference, digests: readonly Digest[], signal: AbortSignal): Promise<SignatureReport> {
  const found = await discoverSignatures(
    step.registry,
    ref,
    digests,
    { signatures: step.policy.wantsSignatures, attestations: step.policy.attestations.length > 0 },
    signal,
  );
  const report = acceptCandidates(step.trust, step.policy, found.candidates, found.problems);
  for (const r of report.rejected) {
    step.log.debug(`${r.kind ?? 'signature'} rejected`, { image_digest: r.imageDigest, format: r.format, signature: r.digest, error: r.error });
  }
  for (const p of found.problems) step.log.warn('signature unreadable', { image_digest: p.imageDigest, format: p.format, where: p.where, error: p.error });
  logDenial(step.log, ref, digests, report);
  countRejections(step.metrics, report);
  return report;
}

// An image none of whose signatures and attestations the policy accepts
// gets no signer selectors: said once per verification of the image (the
// verdict is cached and refreshed per image, so not once per attestation),
// at a level operators see by default, with the reasons.
const failureLabels = new LabelSets();

function countRejections(metrics: AttestMetrics | undefined, report: SignatureReport): void {
  if (!metrics) return;
  for (const r of report.rejected) metrics.incrCounter(METRIC_KEYS.verificationFailures, 1, failureLabels.of(['code', r.code]));
}

function logDenial(log: Logger, ref: ImageReference, digests: readonly Digest[], report: SignatureReport): void {
  if (report.accepted.length > 0 || report.attestations.length > 0) return;
  const codes = [...new Set(report.rejected.map((r) => r.code))].sort();
  log.info('no signature or attestation of the image is accepted: no signer selectors', {
    image: `${ref.registry}/${ref.repository}`,
    image_digest: digests.join(','),
    reason: report.rejected.length === 0 ? (report.problems.length === 0 ? 'NONE_FOUND' : 'UNREADABLE') : codes.join(','),
    rejected: report.rejected.length,
    unreadable: report.problems.length,
  });
}

// Candidates already in hand (discovered, or the CLI's offline --bundle).
export function acceptCandidates(
  trust: TrustContext | TrustRoots,
  policy: CompiledPolicy,
  candidates: readonly SignatureCandidate[],
  problems: readonly DiscoveryProblem[],
): SignatureReport {
  const accepted: AcceptedSignature[] = [];
  const attestations: AcceptedAttestation[] = [];
  const rejected: RejectedSignature[] = [];
  for (const candidate of candidates) {
    try {
      const result = acceptCandidate(candidate, trust, policy);
      if (result.kind === 'signature') accepted.push(result);
      else attestations.push(result);
    } catch (err) {
      // Whatever went wrong, this signature proves nothing; the others
      // still get their chance.
      const known = isSignatureError(err) || isAttestorError(err);
      const verdict = err instanceof RuleError ? err.verified : undefined;
      rejected.push({
        kind: verdict?.kind ?? storedKind(candidate),
        ...(verdict?.kind === 'attestation' ? { predicateType: verdict.predicateType } : {}),
        format: candidate.format,
        imageDigest: candidate.imageDigest,
        digest: candidate.format === 'bundle' ? candidate.manifestDigest : candidate.layerDigest,
        code: known ? err.code : 'INTERNAL',
        error: messageOf(err),
      });
    }
  }
  return { accepted, attestations, rejected, problems };
}

function storedKind(candidate: SignatureCandidate): RejectedSignature['kind'] {
  return candidate.format === 'legacy' ? 'signature' : candidate.format === 'att' ? 'attestation' : undefined;
}

// A genuine signature or attestation the policy does not accept; carries
// what was verified, for the report.
class RuleError extends SignatureError {
  constructor(
    readonly verified: VerifiedSignature | VerifiedAttestation,
    code: SignatureErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

// Verification first (is it genuine, for this image? a signature or an
// attestation?), the policy last (is the signer wanted? does one rule hold
// for this one attestation?), as sigstore-js's verifier applies its policy.
// A signature is only ever matched by signature rules and an attestation
// only by attestation rules. Under each trusted root in turn, with the rules
// that accept that root.
export function acceptCandidate(
  candidate: SignatureCandidate,
  trust: TrustContext | TrustRoots,
  policy: CompiledPolicy,
): AcceptedSignature | AcceptedAttestation {
  return underEachRoot(rootsOf(trust), (root): AcceptedSignature | AcceptedAttestation => {
    const rules = policyForRoot(policy, root.name);
    const verified = verifyCandidate(candidate, root, rules);
    if (verified.kind === 'attestation') {
      const names = satisfiedAttestationRules(rules, verified);
      if (names.length === 0) throw new RuleError(verified, ...whyUnmatched(rules, verified));
      return Object.freeze({ ...verified, rules: names });
    }
    if (!rules.wantsSignatures) {
      throw new RuleError(verified, 'UNTRUSTED_SIGNER', 'signature: the policy has attestation rules only, and a signature is never an attestation');
    }
    if (!evaluate(rules, verified.signer)) {
      throw new RuleError(verified, 'UNTRUSTED_SIGNER', `signer ${describeSigner(verified.signer)} matches no configured identity`);
    }
    return Object.freeze({ ...verified, identityRules: satisfiedRuleNames(rules, verified.signer) });
  });
}

// The most specific reason a verified attestation satisfies no rule.
function whyUnmatched(policy: CompiledPolicy, a: VerifiedAttestation): [SignatureErrorCode, string] {
  const what = `attestation of type ${JSON.stringify(a.predicateType)} by ${describeSigner(a.signer)}`;
  const ofType = policy.attestations.filter((rule) => rule.predicateType === a.predicateType);
  if (ofType.length === 0) return ['PREDICATE_UNEXPECTED', `${what}: no attestation rule accepts this predicate type`];
  const bySigner = satisfiedAttestationRules({ ...policy, attestations: ofType.map((rule) => ({ ...rule, provenance: {} })) }, a);
  if (bySigner.length === 0)
    return ['UNTRUSTED_SIGNER', `${what}: the signer matches no rule for this predicate type (${ofType.map((r) => r.name).join(', ')})`];
  return ['REQUIREMENT_UNMET', `${what}: its provenance does not meet the requirements of ${bySigner.join(', ')}`];
}

// The trust a configuration names, loaded; a trusted root or key that
// cannot be loaded is a configuration error (Configure and Validate fail).
export async function readyTrust(trust: TrustSource): Promise<TrustRoots> {
  try {
    return await trust.current();
  } catch (err) {
    throw new AttestorError('CONFIG_INVALID', `invalid plugin_data: ${messageOf(err)}`, { cause: err });
  }
}
