// Image digest -> the cosign signatures stored for it in the registry:
//  - cosign v3 Sigstore bundles, attached as OCI 1.1 referrers (artifactType
//    application/vnd.dev.sigstore.bundle.v0.3+json), read through the
//    referrers API or its `sha256-<hex>` tag fallback;
//  - legacy signatures: the `sha256-<hex>.sig` manifest, one simple-signing
//    payload per layer with the signature material in layer annotations.
// Counts and sizes are bounded. A candidate that cannot be read or parsed is
// reported and skipped; it never hides the others. Cheap checks (media and
// artifact type, declared size) come before any fetch and cost nothing;
// what is fetched counts towards one bound of tries per digest and format,
// and everything well-formed within it goes on to verification.

import { codeInfo, messageOf } from '../errors.js';
import { throwIfAborted } from '../util/abort.js';

import type { Digest, ImageReference, RegistryApi } from '../registry/types.js';
import type { BundleCandidate, LegacyCandidate, SignatureCandidate } from '../verify/types.js';

export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const BUNDLE_LAYER_PREFIX = 'application/vnd.dev.sigstore.bundle';
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';

export const DISCOVERY_LIMITS = {
  // Candidates tried (fetched) per image digest and format, junk included;
  // every well-formed one is verified, so well-formed signatures that do
  // not verify cannot crowd out the genuine one either, up to this bound.
  maxTries: 64,
  // Bytes of one bundle / one simple-signing payload.
  maxBundleBytes: 256 * 1024,
  maxPayloadBytes: 64 * 1024,
} as const;

export interface DiscoveryProblem {
  readonly imageDigest: Digest;
  readonly format: SignatureCandidate['format'];
  // The signature manifest or layer the problem is about.
  readonly where: string;
  readonly error: string;
}

export interface Discovery {
  readonly candidates: SignatureCandidate[];
  readonly problems: DiscoveryProblem[];
}

function at(ref: ImageReference, digest: Digest): ImageReference {
  return { registry: ref.registry, repository: ref.repository, digest, original: `${ref.registry}/${ref.repository}@${digest}` };
}

function legacyTag(digest: Digest): string {
  return `${digest.replace(':', '-')}.sig`;
}

// Registry outages are not "a bad signature": they abort discovery (and so
// the attestation), while a malformed candidate is skipped.
function isOutage(err: unknown): boolean {
  return codeInfo(err)?.outage === true;
}

// Counts the candidates one digest's discovery of one format tried; says
// when to stop, and reports it once.
class Budget {
  #tries = 0;
  constructor(private readonly report: (error: string) => void) {}

  // Before a fetch: false (reported) when the bound is reached.
  take(remaining: number): boolean {
    if (this.#tries < DISCOVERY_LIMITS.maxTries) {
      this.#tries++;
      return true;
    }
    this.report(`limit of ${DISCOVERY_LIMITS.maxTries} candidates tried reached; ${remaining} more not considered`);
    return false;
  }
}

async function discoverBundles(registry: RegistryApi, ref: ImageReference, imageDigest: Digest, signal: AbortSignal, out: Discovery): Promise<void> {
  const problem = (where: string, error: string): void => void out.problems.push({ imageDigest, format: 'bundle', where, error });
  const listed = await registry.referrers(ref, imageDigest, BUNDLE_ARTIFACT_TYPE, signal);
  // Cheap filters first: they cost no fetch.
  const referrers = listed.filter((d) => d.artifactType === BUNDLE_ARTIFACT_TYPE);
  const budget = new Budget((error) => problem(`referrers of ${imageDigest}`, error));
  for (const [i, desc] of referrers.entries()) {
    throwIfAborted(signal);
    const where = `referrer ${desc.digest}`;
    if (!budget.take(referrers.length - i)) break;
    try {
      const fetched = await registry.getManifest(at(ref, desc.digest), signal);
      if (!fetched) throw new Error('referrer manifest not found');
      const m = fetched.manifest;
      if (m.kind !== 'manifest') throw new Error('referrer is not an image manifest');
      if (m.subject && m.subject.digest !== imageDigest) throw new Error(`referrer subject is ${m.subject.digest}, not ${imageDigest}`);
      const [layer, ...rest] = m.layers;
      if (!layer || rest.length > 0 || !layer.mediaType.startsWith(BUNDLE_LAYER_PREFIX)) {
        throw new Error('a bundle referrer must have exactly one Sigstore bundle layer');
      }
      if (layer.size > DISCOVERY_LIMITS.maxBundleBytes)
        throw new Error(`bundle layer is ${layer.size} bytes, over the ${DISCOVERY_LIMITS.maxBundleBytes}-byte cap`);
      const bytes = await registry.getBlob(ref, layer.digest, DISCOVERY_LIMITS.maxBundleBytes, signal);
      let bundle: unknown;
      try {
        bundle = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new Error('bundle layer is not JSON');
      }
      const candidate: BundleCandidate = { format: 'bundle', imageDigest, bundle, manifestDigest: fetched.digest };
      out.candidates.push(candidate);
    } catch (err) {
      if (isOutage(err)) throw err;
      problem(where, messageOf(err));
    }
  }
}

function stringAnnotations(value: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

async function discoverLegacy(registry: RegistryApi, ref: ImageReference, imageDigest: Digest, signal: AbortSignal, out: Discovery): Promise<void> {
  const tag = legacyTag(imageDigest);
  const fetched = await registry
    .getManifest({ registry: ref.registry, repository: ref.repository, tag, original: `${ref.registry}/${ref.repository}:${tag}` }, signal)
    .catch((err: unknown) => {
      if (isOutage(err)) throw err;
      out.problems.push({ imageDigest, format: 'legacy', where: `tag ${tag}`, error: messageOf(err) });
      return undefined;
    });
  if (!fetched) return;
  if (fetched.manifest.kind !== 'manifest') {
    out.problems.push({ imageDigest, format: 'legacy', where: `tag ${tag}`, error: 'signature tag is not an image manifest' });
    return;
  }
  const layers = fetched.manifest.layers;
  const budget = new Budget((error) => out.problems.push({ imageDigest, format: 'legacy', where: `tag ${tag}`, error }));
  for (const [i, layer] of layers.entries()) {
    throwIfAborted(signal);
    const where = `${tag} layer ${layer.digest}`;
    try {
      // Cheap filters first: they cost no fetch.
      if (layer.mediaType !== SIMPLE_SIGNING) throw new Error(`unexpected layer media type ${layer.mediaType}`);
      if (layer.size > DISCOVERY_LIMITS.maxPayloadBytes)
        throw new Error(`payload is ${layer.size} bytes, over the ${DISCOVERY_LIMITS.maxPayloadBytes}-byte cap`);
      if (!budget.take(layers.length - i)) break;
      const payload = await registry.getBlob(ref, layer.digest, DISCOVERY_LIMITS.maxPayloadBytes, signal);
      try {
        JSON.parse(payload.toString('utf8'));
      } catch {
        throw new Error('payload is not JSON');
      }
      const candidate: LegacyCandidate = {
        format: 'legacy',
        imageDigest,
        payload,
        layerDigest: layer.digest,
        annotations: stringAnnotations(layer.annotations),
      };
      out.candidates.push(candidate);
    } catch (err) {
      if (isOutage(err)) throw err;
      out.problems.push({ imageDigest, format: 'legacy', where, error: messageOf(err) });
    }
  }
}

// Both formats, for every digest given (cosign usually signs the index; some
// sign the platform manifest too).
export async function discoverSignatures(registry: RegistryApi, ref: ImageReference, digests: readonly Digest[], signal: AbortSignal): Promise<Discovery> {
  const out: Discovery = { candidates: [], problems: [] };
  // Every digest and both formats at once: the lookups are independent.
  await Promise.all(
    [...new Set(digests)].flatMap((digest) => [discoverBundles(registry, ref, digest, signal, out), discoverLegacy(registry, ref, digest, signal, out)]),
  );
  return out;
}
