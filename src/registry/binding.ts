// Is the image a container runs exactly a manifest the registry serves?
//
// The container's image ID is the digest of its image config. A manifest
// digest D is bound to the container only if the manifest at D - or, for an
// index, its entry for the image's platform - names exactly that config
// digest. Candidates for D: the image's local RepoDigests for the repository
// the container was started from, a digest written in the reference itself,
// and what the registry's tag points to now. Names alone prove nothing: a
// local rebuild or re-tag keeps the name and changes the config digest.

import { AttestorError, isAttestorError } from '../errors.js';
import { throwIfAborted } from '../util/abort.js';
import { selectPlatform } from './manifest.js';
import { parseReference, repoDigestOf } from './reference.js';

import type { Digest, FetchedManifest, ImageReference, Platform, RegistryApi } from './types.js';

export type CandidateSource = 'repo-digest' | 'reference-digest' | 'tag';

export interface BoundImage {
  readonly outcome: 'bound';
  readonly reference: ImageReference;
  // The digest the binding holds through (an index or a single manifest).
  readonly digest: Digest;
  // The platform manifest inside the index, when `digest` is an index.
  readonly manifestDigest: Digest;
  readonly indexDigest?: Digest;
  readonly via: CandidateSource;
  // Where the tag points now; `tagMoved` when that is not `digest`.
  readonly tagDigest?: Digest;
  readonly tagMoved: boolean;
}

export interface UnboundImage {
  readonly outcome: 'not-bound';
  readonly reference: ImageReference | undefined;
  readonly reason: string;
  // What each candidate turned out to be.
  readonly candidates: readonly { digest: Digest; via: CandidateSource; configDigest: string | undefined }[];
}

export type BindingResult = BoundImage | UnboundImage;

export interface BindingInput {
  // Config.Image: the reference the container was created from.
  readonly imageRef: string;
  // The container's image ID (config digest).
  readonly imageId: string;
  // The image's RepoDigests (`name@sha256:...`).
  readonly repoDigests: readonly string[];
  readonly platform: Platform;
}

function sameRepository(a: ImageReference, b: ImageReference): boolean {
  return a.registry === b.registry && a.repository === b.repository;
}

interface Candidate {
  digest: Digest;
  via: CandidateSource;
}

function collectCandidates(ref: ImageReference, repoDigests: readonly string[]): Candidate[] {
  const out: Candidate[] = [];
  const add = (digest: Digest, via: CandidateSource): void => {
    if (!out.some((c) => c.digest === digest)) out.push({ digest, via });
  };
  if (ref.digest) add(ref.digest, 'reference-digest');
  for (const entry of repoDigests) {
    let parsed: ImageReference & { digest: Digest };
    try {
      parsed = repoDigestOf(entry);
    } catch {
      continue; // a malformed local entry is simply not a candidate
    }
    if (sameRepository(parsed, ref)) add(parsed.digest, 'repo-digest');
  }
  return out;
}

interface Examined {
  candidate: Candidate;
  named: { configDigest: string; manifestDigest: Digest; indexDigest?: Digest } | undefined;
}

// The config digest the manifest at `fetched` names for `platform`, and the
// platform manifest's digest.
async function configDigestOf(
  registry: RegistryApi,
  ref: ImageReference,
  fetched: FetchedManifest,
  platform: Platform,
  signal: AbortSignal,
): Promise<{ configDigest: string; manifestDigest: Digest; indexDigest?: Digest } | undefined> {
  if (fetched.manifest.kind === 'manifest') {
    return { configDigest: fetched.manifest.config.digest, manifestDigest: fetched.digest };
  }
  const entry = selectPlatform(fetched.manifest, platform);
  if (!entry) return undefined;
  const child = await registry.getManifest({ ...ref, digest: entry.digest }, signal);
  if (!child || child.manifest.kind !== 'manifest') return undefined;
  return { configDigest: child.manifest.config.digest, manifestDigest: child.digest, indexDigest: fetched.digest };
}

export async function checkBinding(registry: RegistryApi, input: BindingInput, signal: AbortSignal): Promise<BindingResult> {
  let ref: ImageReference;
  try {
    ref = parseReference(input.imageRef);
  } catch (err) {
    if (isAttestorError(err) && err.code === 'REFERENCE_INVALID') {
      return {
        outcome: 'not-bound',
        reference: undefined,
        reason: `container image reference "${input.imageRef}" names no registry repository`,
        candidates: [],
      };
    }
    throw err;
  }

  const candidates = collectCandidates(ref, input.repoDigests);
  // What the tag points to now, asked for while the known candidates are
  // fetched: one round trip for both.
  const tagLookup: Promise<Digest | undefined> =
    ref.tag !== undefined && ref.digest === undefined
      ? registry.resolve({ registry: ref.registry, repository: ref.repository, tag: ref.tag, original: ref.original }, signal)
      : Promise.resolve(undefined);
  const examine = async (candidate: Candidate): Promise<Examined> => {
    const fetched = await registry.getManifest(
      { registry: ref.registry, repository: ref.repository, digest: candidate.digest, original: ref.original },
      signal,
    );
    const named = fetched ? await configDigestOf(registry, ref, fetched, input.platform, signal) : undefined;
    return { candidate, named };
  };
  const settled = await Promise.allSettled([tagLookup, ...candidates.map(examine)]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const tagDigest = (settled[0] as PromiseFulfilledResult<Digest | undefined>).value;
  const examined = settled.slice(1).map((r) => (r as PromiseFulfilledResult<Examined>).value);
  if (tagDigest && !candidates.some((c) => c.digest === tagDigest)) {
    throwIfAborted(signal);
    const extra: Candidate = { digest: tagDigest, via: 'tag' };
    candidates.push(extra);
    examined.push(await examine(extra));
  }

  const seen: UnboundImage['candidates'][number][] = [];
  for (const { candidate, named } of examined) {
    seen.push({ ...candidate, configDigest: named?.configDigest });
    if (named && named.configDigest === input.imageId) {
      return {
        outcome: 'bound',
        reference: ref,
        digest: candidate.digest,
        manifestDigest: named.manifestDigest,
        ...(named.indexDigest ? { indexDigest: named.indexDigest } : {}),
        via: candidate.via,
        ...(tagDigest ? { tagDigest } : {}),
        tagMoved: tagDigest !== undefined && tagDigest !== candidate.digest,
      };
    }
  }
  const reason =
    candidates.length === 0
      ? `no registry manifest to compare: ${ref.original} has no local repo digest and its tag is not in the registry`
      : `the local image ${input.imageId} is not the one the registry serves for ${ref.original} (rebuilt, tampered or re-tagged locally)`;
  return { outcome: 'not-bound', reference: ref, reason, candidates: seen };
}

export function notBoundError(result: UnboundImage): AttestorError {
  return new AttestorError('NOT_BOUND', `image not bound to its registry: ${result.reason}`);
}
