// Bound image digests -> signatures that verify and match the policy.
//
// Discovery and verification results are cached per set of digests for this
// configuration (a new Configure builds a new attestor and a new cache), so
// warm attestations do no registry I/O and no cryptography, and concurrent
// attestations of one new image share one discovery and one verification.
// A cached load runs under its own deadline, not under the first caller's,
// so one impatient caller cannot poison the entry for the others.

import { isAttestorError, messageOf } from '../errors.js';
import { describeSigner, evaluate, satisfiedRuleNames } from '../policy/index.js';
import { discoverSignatures } from '../signatures/discover.js';
import { raceAbort } from '../util/abort.js';
import { VerdictCache } from '../util/cache.js';
import {
  SignatureError,
  createTrust,
  fetchTrustedRoot,
  isSignatureError,
  loadTrust,
  prepareTufCache,
  readCachedTrustedRoot,
  verifyCandidate,
} from '../verify/index.js';
import { AttestorError } from '../errors.js';

import type { SignaturePolicyConfig } from './types.js';
import type { Logger } from '../log.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { Digest, ImageReference, RegistryApi } from '../registry/types.js';
import type { DiscoveryProblem } from '../signatures/discover.js';
import type { SignatureCandidate, SignatureErrorCode, TrustContext, TufSettings, VerifiedSignature } from '../verify/index.js';
import type { ErrorCode } from '../errors.js';

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

// Verification first (is it genuine, for this image?), the policy last (is
// the signer wanted?), as sigstore-js's verifier applies its policy.
export function acceptCandidate(candidate: SignatureCandidate, trust: TrustContext, policy: CompiledPolicy): AcceptedSignature {
  const verified = verifyCandidate(candidate, trust, policy);
  if (!evaluate(policy, verified.signer)) {
    throw new SignatureError('UNTRUSTED_SIGNER', `signer ${describeSigner(verified.signer)} matches no configured identity`);
  }
  return Object.freeze({ ...verified, identityRules: satisfiedRuleNames(policy, verified.signer) });
}

function candidateDigest(c: SignatureCandidate): Digest {
  return c.format === 'legacy' ? c.layerDigest : c.manifestDigest;
}

export class SignatureChecker {
  readonly #policy: CompiledPolicy;
  #trust: Promise<TrustContext>;
  readonly #tuf: TufSettings | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  readonly #cache: VerdictCache<SignatureReport>;
  readonly #cacheOptions: SignatureCacheOptions;
  readonly #log: Logger;
  #loadedTrust: TrustContext | undefined;

  constructor(config: SignaturePolicyConfig, log: Logger, cache: SignatureCacheOptions = DEFAULT_SIGNATURE_CACHE) {
    this.#log = log;
    this.#cacheOptions = cache;
    this.#cache = new VerdictCache(cache);
    this.#policy = config.policy;
    this.#tuf = config.tuf;
    this.#trust = this.#initialTrust(config).catch((err: unknown) => {
      throw new AttestorError('CONFIG_INVALID', `invalid plugin_data: ${messageOf(err)}`, { cause: err });
    });
    this.#trust.then(
      (trust) => {
        this.#loadedTrust = trust;
        const tuf = this.#tuf;
        if (tuf) {
          // In the background: attestations go on with the root we have.
          void this.refreshTrust();
          this.#refreshTimer = setInterval(() => void this.refreshTrust(), tuf.intervalMs);
          this.#refreshTimer.unref();
        }
      },
      () => undefined,
    );
  }

  // With TUF refresh: the last refreshed root from the TUF cache when there
  // is a usable one, else the embedded public-good root. Otherwise the
  // configured trusted_root_file or the embedded root.
  // The cached root is used only when it verifies against the cached, signed
  // TUF metadata, in a cache directory nobody else can write.
  async #initialTrust(config: SignaturePolicyConfig): Promise<TrustContext> {
    if (this.#tuf) {
      prepareTufCache(this.#tuf);
      const cached = await readCachedTrustedRoot(this.#tuf);
      if (cached.kind === 'verified') {
        if (cached.expired.length > 0) {
          this.#log.warn('cached TUF metadata has expired; using its trusted root until a refresh succeeds', {
            path: cached.path,
            expired: cached.expired.join(','),
          });
        }
        try {
          return await loadTrust({ root: { json: cached.root, source: cached.path }, trustedRootFile: undefined, keys: config.keys });
        } catch (err) {
          if (isSignatureError(err) && err.code === 'KEY_INVALID') throw err;
          this.#log.warn('cached TUF trusted root unusable; starting from the embedded root', { error: messageOf(err) });
        }
      } else if (cached.kind === 'invalid') {
        this.#log.warn('cached TUF trusted root does not verify; starting from the embedded root', { error: cached.error });
      }
    }
    return loadTrust({ trustedRootFile: config.trustedRootFile, keys: config.keys });
  }

  // One TUF refresh; true when a new trusted root is now in use. Never
  // throws: a failure keeps the current root.
  async refreshTrust(): Promise<boolean> {
    const tuf = this.#tuf;
    if (!tuf) return false;
    const fetched = await fetchTrustedRoot(tuf);
    if ('error' in fetched) {
      this.#log.warn('TUF refresh of the trusted root failed; keeping the current one', { mirror: tuf.mirrorUrl, error: fetched.error });
      return false;
    }
    try {
      const current = await this.#trust;
      const next = createTrust(fetched.root, `TUF ${tuf.mirrorUrl}`, [...current.keys.values()]);
      this.#trust = Promise.resolve(next);
      this.#loadedTrust = next;
      // Verdicts were reached under the old root.
      this.#cache.clear();
      this.#log.info('trusted root refreshed through TUF', { mirror: tuf.mirrorUrl });
      return true;
    } catch (err) {
      this.#log.warn('TUF delivered an unusable trusted root; keeping the current one', { error: messageOf(err) });
      return false;
    }
  }

  // Where the trusted root in use came from.
  get trustSource(): string | undefined {
    return this.#loadedTrust?.rootSource;
  }

  close(): void {
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
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
    for (const r of report.rejected)
      this.#log.debug('signature rejected', { image_digest: r.imageDigest, format: r.format, signature: r.digest, error: r.error });
    for (const p of found.problems) this.#log.warn('signature unreadable', { image_digest: p.imageDigest, format: p.format, where: p.where, error: p.error });
    return report;
  }

  // One candidate already in hand (the CLI's offline --bundle). Call ready() first.
  verifyOne(candidate: SignatureCandidate): SignatureReport {
    if (this.#loadedTrust === undefined) throw new Error('SignatureChecker.verifyOne before ready()');
    return this.#verifyAll(this.#loadedTrust, [candidate], []);
  }

  #verifyAll(trust: TrustContext, candidates: readonly SignatureCandidate[], problems: readonly DiscoveryProblem[]): SignatureReport {
    const accepted: AcceptedSignature[] = [];
    const rejected: RejectedSignature[] = [];
    for (const candidate of candidates) {
      try {
        accepted.push(acceptCandidate(candidate, trust, this.#policy));
      } catch (err) {
        // Whatever went wrong, this signature proves nothing; the others
        // still get their chance.
        const known = isSignatureError(err) || isAttestorError(err);
        rejected.push({
          format: candidate.format,
          imageDigest: candidate.imageDigest,
          digest: candidateDigest(candidate),
          code: known ? err.code : 'INTERNAL',
          error: messageOf(err),
        });
      }
    }
    return { accepted, rejected, problems };
  }
}
