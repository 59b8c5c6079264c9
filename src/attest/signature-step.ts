// Bound image digests -> signatures that verify and match the policy: the
// signature step, a function of its inputs. The attestor caches its reports
// per image and trust generation (so warm attestations do no registry I/O
// and no cryptography, and concurrent attestations of one new image share
// one discovery and one verification); the CLI calls it directly.

import { AttestorError, isAttestorError, messageOf } from '../errors.js';
import { describeSigner, evaluate, policyForRoot, satisfiedRuleNames } from '../policy/index.js';
import { discoverSignatures } from '../signatures/discover.js';
import { SignatureError, isSignatureError, rootsOf, underEachRoot, verifyCandidate } from '../verify/index.js';

import type { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { Digest, ImageReference, RegistryApi } from '../registry/types.js';
import type { DiscoveryProblem } from '../signatures/discover.js';
import type { SignatureCandidate, SignatureErrorCode, TrustContext, TrustRoots, VerifiedSignature } from '../verify/index.js';
import type { TrustSource } from '../verify/trust-source.js';

export interface RejectedSignature {
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

export interface SignatureReport {
  readonly accepted: readonly AcceptedSignature[];
  readonly rejected: readonly RejectedSignature[];
  readonly problems: readonly DiscoveryProblem[];
}

// What one run of the step needs.
export interface SignatureStep {
  readonly registry: RegistryApi;
  readonly trust: TrustRoots;
  readonly policy: CompiledPolicy;
  readonly log: Logger;
}

// Discovery in the registry, then verification and policy for every
// candidate. Registry outages reject; a bad candidate is only rejected.
export async function checkSignatures(step: SignatureStep, ref: ImageReference, digests: readonly Digest[], signal: AbortSignal): Promise<SignatureReport> {
  const found = await discoverSignatures(step.registry, ref, digests, signal);
  const report = acceptCandidates(step.trust, step.policy, found.candidates, found.problems);
  for (const r of report.rejected) step.log.debug('signature rejected', { image_digest: r.imageDigest, format: r.format, signature: r.digest, error: r.error });
  for (const p of found.problems) step.log.warn('signature unreadable', { image_digest: p.imageDigest, format: p.format, where: p.where, error: p.error });
  return report;
}

// Candidates already in hand (discovered, or the CLI's offline --bundle).
export function acceptCandidates(
  trust: TrustContext | TrustRoots,
  policy: CompiledPolicy,
  candidates: readonly SignatureCandidate[],
  problems: readonly DiscoveryProblem[],
): SignatureReport {
  const accepted: AcceptedSignature[] = [];
  const rejected: RejectedSignature[] = [];
  for (const candidate of candidates) {
    try {
      accepted.push(acceptCandidate(candidate, trust, policy));
    } catch (err) {
      // Whatever went wrong, this signature proves nothing; the others
      // still get their chance.
      const known = isSignatureError(err) || isAttestorError(err);
      rejected.push({
        format: candidate.format,
        imageDigest: candidate.imageDigest,
        digest: candidate.format === 'legacy' ? candidate.layerDigest : candidate.manifestDigest,
        code: known ? err.code : 'INTERNAL',
        error: messageOf(err),
      });
    }
  }
  return { accepted, rejected, problems };
}

// Verification first (is it genuine, for this image?), the policy last (is
// the signer wanted?), as sigstore-js's verifier applies its policy. Under
// each trusted root in turn, with the rules that accept that root.
export function acceptCandidate(candidate: SignatureCandidate, trust: TrustContext | TrustRoots, policy: CompiledPolicy): AcceptedSignature {
  return underEachRoot(rootsOf(trust), (root) => {
    const rules = policyForRoot(policy, root.name);
    const verified = verifyCandidate(candidate, root, rules);
    if (!evaluate(rules, verified.signer)) {
      throw new SignatureError('UNTRUSTED_SIGNER', `signer ${describeSigner(verified.signer)} matches no configured identity`);
    }
    return Object.freeze({ ...verified, identityRules: satisfiedRuleNames(rules, verified.signer) });
  });
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
