// Bound image digests -> signatures that verify and match the policy.
//
// Discovery and verification results are cached per set of digests for this
// configuration (a new Configure builds a new attestor and a new cache), so
// warm attestations do no registry I/O and no cryptography, and concurrent
// attestations of one new image share one discovery and one verification.
// A cached load runs under its own deadline, not under the first caller's,
// so one impatient caller cannot poison the entry for the others.

import { isAttestorError } from '../errors.js';
import { compilePolicy } from '../policy/index.js';
import { discoverSignatures } from '../signatures/discover.js';
import { raceAbort } from '../util/abort.js';
import { VerdictCache } from '../util/cache.js';
import { isSignatureError, loadTrust, verifyCandidate } from '../verify/index.js';
import { AttestorError } from '../errors.js';

import type { SignaturePolicyConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { Digest, ImageReference, RegistryApi } from '../registry/types.js';
import type { DiscoveryProblem } from '../signatures/discover.js';
import type { SignatureCandidate, VerifiedSignature } from '../signatures/types.js';
import type { TrustContext } from '../verify/index.js';

export interface RejectedSignature {
  readonly format: SignatureCandidate['format'];
  readonly imageDigest: Digest;
  // Legacy layer digest or bundle referrer manifest digest.
  readonly digest: Digest;
  readonly code: string;
  readonly error: string;
}

export interface SignatureReport {
  readonly accepted: readonly VerifiedSignature[];
  readonly rejected: readonly RejectedSignature[];
  readonly problems: readonly DiscoveryProblem[];
}

export interface SignatureCacheOptions {
  ttlMs: number;
  failureTtlMs: number;
  maxEntries: number;
  loadTimeoutMs: number;
}

export const DEFAULT_SIGNATURE_CACHE: SignatureCacheOptions = {
  ttlMs: 5 * 60_000,
  failureTtlMs: 5_000,
  maxEntries: 1024,
  loadTimeoutMs: 30_000,
};

function candidateDigest(c: SignatureCandidate): Digest {
  return c.format === 'legacy' ? c.layerDigest : c.manifestDigest;
}

export class SignatureChecker {
  readonly #policy: CompiledPolicy;
  readonly #trust: Promise<TrustContext>;
  readonly #cache: VerdictCache<SignatureReport>;
  readonly #cacheOptions: SignatureCacheOptions;
  readonly #log: Logger;
  #loadedTrust: TrustContext | undefined;

  constructor(config: SignaturePolicyConfig, log: Logger, cache: SignatureCacheOptions = DEFAULT_SIGNATURE_CACHE) {
    this.#log = log;
    this.#cacheOptions = cache;
    this.#cache = new VerdictCache(cache);
    try {
      this.#policy = compilePolicy(config);
    } catch (err) {
      throw new AttestorError('CONFIG_INVALID', `invalid plugin_data: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.#trust = loadTrust({ trustedRootFile: config.trustedRootFile, keys: config.keys }).catch((err: unknown) => {
      throw new AttestorError('CONFIG_INVALID', `invalid plugin_data: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    this.#trust.then(
      (trust) => {
        this.#loadedTrust = trust;
      },
      () => undefined,
    );
  }

  // Resolves when the trusted root and keys are loaded; rejects with
  // CONFIG_INVALID when they cannot be.
  async ready(): Promise<void> {
    await this.#trust;
  }

  // How many discoveries + verifications actually ran (benchmark, tests).
  get loads(): number {
    return this.#cache.loads;
  }

  async check(registry: RegistryApi, ref: ImageReference, digests: readonly Digest[], signal: AbortSignal): Promise<SignatureReport> {
    const key = [`${ref.registry}/${ref.repository}`, ...[...digests].sort()].join(' ');
    const shared = this.#cache.get(key, () => this.#load(registry, ref, digests, AbortSignal.timeout(this.#cacheOptions.loadTimeoutMs)));
    return raceAbort(shared, signal);
  }

  async #load(registry: RegistryApi, ref: ImageReference, digests: readonly Digest[], signal: AbortSignal): Promise<SignatureReport> {
    const trust = await this.#trust;
    const found = await discoverSignatures(registry, ref, digests, signal);
    const report = this.#verifyAll(trust, found.candidates, found.problems);
    for (const r of report.rejected) this.#log.debug('signature rejected', { image_digest: r.imageDigest, format: r.format, signature: r.digest, error: r.error });
    for (const p of found.problems) this.#log.warn('signature unreadable', { image_digest: p.imageDigest, format: p.format, where: p.where, error: p.error });
    return report;
  }

  // One candidate already in hand (the CLI's offline --bundle). Call ready() first.
  verifyOne(candidate: SignatureCandidate): SignatureReport {
    if (this.#loadedTrust === undefined) throw new Error('SignatureChecker.verifyOne before ready()');
    return this.#verifyAll(this.#loadedTrust, [candidate], []);
  }

  #verifyAll(trust: TrustContext, candidates: readonly SignatureCandidate[], problems: readonly DiscoveryProblem[]): SignatureReport {
    const accepted: VerifiedSignature[] = [];
    const rejected: RejectedSignature[] = [];
    for (const candidate of candidates) {
      try {
        accepted.push(verifyCandidate(candidate, trust, this.#policy));
      } catch (err) {
        // Whatever went wrong, this signature proves nothing; the others
        // still get their chance.
        const known = isSignatureError(err) || isAttestorError(err);
        rejected.push({
          format: candidate.format,
          imageDigest: candidate.imageDigest,
          digest: candidateDigest(candidate),
          code: known ? err.code : 'INTERNAL',
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return { accepted, rejected, problems };
  }
}
