// Several trusted roots at once (public-good plus a private Sigstore, or
// GitHub's instance for private repositories, which has Fulcio and TSAs but
// no transparency log). Each root is a TrustContext of its own; a signature
// is tried under each in turn and the root that verified it is recorded
// (VerifiedSignature.trustedRoot). A keyless certificate chains to one CA,
// so at most one root normally verifies it; trying them all is what lets a
// rule accept only some roots.

import { SignatureError, isSignatureError, messageOf } from './errors.js';

import type { SignatureErrorCode } from './errors.js';
import type { TrustContext } from './trust.js';
import type { TufSettings } from './tuf.js';

// One configured root, as config/ describes it (no I/O done yet).
export interface TrustRootSpec {
  readonly name: string;
  // Where the root starts from: the public-good root embedded in
  // @sigstore/tuf, a trusted_root.json file, or (its own TUF repository)
  // the verified TUF cache, else a first fetch.
  readonly start: { readonly kind: 'embedded' } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'tuf' };
  // The TUF repository and cache; undefined: none (a file, or offline
  // public-good).
  readonly tuf: TufSettings | undefined;
  // Whether to fetch from the TUF repository (false: offline, the cache only).
  readonly refresh: boolean;
  // One-shot use (the CLI): refresh once while loading, no background
  // refresh, so that the run verifies with a current root and ends at once.
  readonly refreshFirst?: boolean;
  // 'policy': the global require_tlog / require_sct (the one-root
  // settings). Otherwise this root's own; an unset one is derived from the
  // root: required when it has transparency (CT) logs.
  readonly requirements: 'policy' | { readonly tlog: boolean | undefined; readonly sct: boolean | undefined };
  // How messages name the root: `trusted_root "github"`, or '' for the
  // one-root settings (whose messages name the file or mirror already).
  readonly label: string;
}

// The roots in use, in configured order, all sharing the configured keys.
export interface TrustRoots {
  readonly roots: readonly TrustContext[];
}

export function isTrustRoots(trust: TrustContext | TrustRoots): trust is TrustRoots {
  return 'roots' in trust;
}

// One TrustContext is one root.
export function rootsOf(trust: TrustContext | TrustRoots): readonly TrustContext[] {
  return isTrustRoots(trust) ? trust.roots : [trust];
}

// This root's requirements, fixed when it is loaded: the configured ones,
// else what the root can support. Throws TRUST_ROOT_INVALID when a
// configured requirement cannot be met by the root (require_tlog = true on
// a root without transparency logs would reject every signature).
export function rootRequirements(
  spec: Pick<TrustRootSpec, 'requirements' | 'label'>,
  has: { readonly tlogs: number; readonly ctlogs: number },
): { readonly requireTlog: boolean | undefined; readonly requireSct: boolean | undefined } {
  if (spec.requirements === 'policy') return { requireTlog: undefined, requireSct: undefined };
  const { tlog, sct } = spec.requirements;
  if (tlog === true && has.tlogs === 0) {
    throw new SignatureError('TRUST_ROOT_INVALID', `${spec.label}: require_tlog = true, but the root has no transparency logs`);
  }
  if (sct === true && has.ctlogs === 0) {
    throw new SignatureError('TRUST_ROOT_INVALID', `${spec.label}: require_sct = true, but the root has no CT logs`);
  }
  return { requireTlog: tlog ?? has.tlogs > 0, requireSct: sct ?? has.ctlogs > 0 };
}

// A refreshed root must not weaken what the root it replaces requires: a
// TUF update that drops the transparency log of a root whose signatures
// needed one is refused (the old root stays). The reason, or undefined.
export function weakens(current: TrustContext, next: TrustContext): string | undefined {
  if (current.requireTlog === true && next.requireTlog !== true) return 'it has no transparency logs, and signatures under this root need one';
  if (current.requireSct === true && next.requireSct !== true) return 'it has no CT logs, and certificates under this root need an SCT';
  return undefined;
}

// Codes that mostly say "not this root" (the certificate chains to another
// root's CA, the log or TSA is another root's): when one root reports
// something else, that is the more telling reason.
const OTHER_ROOT: readonly SignatureErrorCode[] = ['CERTIFICATE_INVALID', 'TLOG_INVALID', 'TIMESTAMP_INVALID', 'UNTRUSTED_SIGNER'];

// `attempt` under each root in turn; the first that succeeds wins. When
// every root fails, one SignatureError names every root's reason, with the
// most telling code. With one root its error passes unchanged.
export function underEachRoot<T>(roots: readonly TrustContext[], attempt: (root: TrustContext) => T): T {
  const [only] = roots;
  if (only !== undefined && roots.length === 1) return attempt(only);
  const failures: { readonly root: string; readonly err: SignatureError }[] = [];
  for (const root of roots) {
    try {
      return attempt(root);
    } catch (err) {
      // A bug is not a verdict about this root: let it surface as such.
      if (!isSignatureError(err)) throw err;
      failures.push({ root: root.name, err });
    }
  }
  const telling = failures.find((f) => !OTHER_ROOT.includes(f.err.code)) ?? failures[0];
  if (telling === undefined) throw new SignatureError('TRUST_ROOT_INVALID', 'no trusted root is configured');
  const reasons = failures.map((f) => `under trusted root ${JSON.stringify(f.root)}: ${messageOf(f.err)}`);
  throw new SignatureError(telling.err.code, reasons.join('; '), { cause: telling.err });
}
