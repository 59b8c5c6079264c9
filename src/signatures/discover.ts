// Image digest -> the cosign signatures and attestations stored for it in
// the registry:
//  - cosign v3 Sigstore bundles (signatures and attestations alike),
//    attached as OCI 1.1 referrers (artifactType
//    application/vnd.dev.sigstore.bundle.v0.3+json), read through the
//    referrers API or its `sha256-<hex>` tag fallback. Fallback indexes
//    written by cosign 3.x often list them with an empty or
//    application/vnd.oci.empty.v1+json artifactType, so those are fetched
//    and looked into rather than trusted or skipped by their descriptor;
//  - legacy signatures: the `sha256-<hex>.sig` manifest, one simple-signing
//    payload per layer with the signature material in layer annotations;
//  - legacy attestations: the `sha256-<hex>.att` manifest, one DSSE envelope
//    per layer, material in layer annotations as for `.sig`.
// Which of them the signed content is (signature or attestation) is decided
// only after verification.
// Counts and sizes are bounded. A candidate that cannot be read or parsed is
// reported and skipped; it never hides the others. Cheap checks (media and
// artifact type, declared size) come before any fetch and cost nothing;
// what is fetched counts towards one bound of tries per digest and format,
// and everything well-formed within it goes on to verification.

import { codeInfo, messageOf } from '../errors.js';
import { throwIfAborted } from '../util/abort.js';
import { DSSE_ENVELOPE_MEDIA_TYPE } from '../verify/legacy-att.js';

import type { Descriptor, Digest, ImageReference, RegistryApi } from '../registry/types.js';
import type { AttestationLayerCandidate, BundleCandidate, LegacyCandidate, SignatureCandidate } from '../verify/types.js';

export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const BUNDLE_LAYER_PREFIX = 'application/vnd.dev.sigstore.bundle';
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
// Referrer descriptors that may be bundles: the bundle type, or none said
// (cosign 3.x fallback indexes); anything else (SBOMs, ...) is skipped free.
const MAYBE_BUNDLE_ARTIFACT_TYPES: readonly (string | undefined)[] = [BUNDLE_ARTIFACT_TYPE, undefined, '', 'application/vnd.oci.empty.v1+json'];

// What to look for: signatures (`.sig`), attestations (`.att`); bundles
// may be either and are always looked at.
export interface DiscoveryWants {
  readonly signatures: boolean;
  readonly attestations: boolean;
}

export const DISCOVERY_LIMITS = {
  // Candidates tried (fetched) per image digest and format, junk included;
  // every well-formed one is verified, so well-formed signatures that do
  // not verify cannot crowd out the genuine one either, up to this bound.
  maxTries: 64,
  // Bytes of one bundle / one simple-signing payload / one DSSE envelope
  // (provenance is larger than a signature payload).
  maxBundleBytes: 256 * 1024,
  maxPayloadBytes: 64 * 1024,
  maxEnvelopeBytes: 256 * 1024,
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

function legacyTag(digest: Digest, suffix: 'sig' | 'att'): string {
  return `${digest.replace(':', '-')}.${suffix}`;
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
  // Unfiltered: the API's filter would drop fallback entries without a type.
  // An outage fails discovery; anything else (say, an image manifest pushed
  // at the fallback tag) is a problem of this format only: it must not hide
  // the legacy formats, nor keep an old verdict alive as an outage would.
  let listed: Descriptor[];
  try {
    listed = await registry.referrers(ref, imageDigest, undefined, signal);
  } catch (err) {
    if (isOutage(err)) throw err;
    problem(`referrers of ${imageDigest}`, messageOf(err));
    return;
  }
  // Cheap filters first: they cost no fetch. Declared bundles first, so
  // untyped entries cannot push them past the bound.
  const typed = listed.filter((d) => d.artifactType === BUNDLE_ARTIFACT_TYPE);
  const referrers = [...typed, ...listed.filter((d) => d.artifactType !== BUNDLE_ARTIFACT_TYPE && MAYBE_BUNDLE_ARTIFACT_TYPES.includes(d.artifactType))];
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

// How each legacy tag's layers look and become candidates.
const LEGACY_FORMATS = {
  sig: { format: 'legacy', mediaType: SIMPLE_SIGNING, maxBytes: DISCOVERY_LIMITS.maxPayloadBytes, what: 'payload' },
  att: { format: 'att', mediaType: DSSE_ENVELOPE_MEDIA_TYPE, maxBytes: DISCOVERY_LIMITS.maxEnvelopeBytes, what: 'envelope' },
} as const;

async function discoverLegacy(
  registry: RegistryApi,
  ref: ImageReference,
  imageDigest: Digest,
  suffix: 'sig' | 'att',
  signal: AbortSignal,
  out: Discovery,
): Promise<void> {
  const spec = LEGACY_FORMATS[suffix];
  const problem = (where: string, error: string): void => void out.problems.push({ imageDigest, format: spec.format, where, error });
  const tag = legacyTag(imageDigest, suffix);
  const fetched = await registry
    .getManifest({ registry: ref.registry, repository: ref.repository, tag, original: `${ref.registry}/${ref.repository}:${tag}` }, signal)
    .catch((err: unknown) => {
      if (isOutage(err)) throw err;
      problem(`tag ${tag}`, messageOf(err));
      return undefined;
    });
  if (!fetched) return;
  if (fetched.manifest.kind !== 'manifest') {
    problem(`tag ${tag}`, `${suffix === 'sig' ? 'signature' : 'attestation'} tag is not an image manifest`);
    return;
  }
  const layers = fetched.manifest.layers;
  const budget = new Budget((error) => problem(`tag ${tag}`, error));
  for (const [i, layer] of layers.entries()) {
    throwIfAborted(signal);
    try {
      // Cheap filters first: they cost no fetch.
      if (layer.mediaType !== spec.mediaType) throw new Error(`unexpected layer media type ${layer.mediaType}`);
      if (layer.size > spec.maxBytes) throw new Error(`${spec.what} is ${layer.size} bytes, over the ${spec.maxBytes}-byte cap`);
      if (!budget.take(layers.length - i)) break;
      const blob = await registry.getBlob(ref, layer.digest, spec.maxBytes, signal);
      try {
        JSON.parse(blob.toString('utf8'));
      } catch {
        throw new Error(`${spec.what} is not JSON`);
      }
      const annotations = stringAnnotations(layer.annotations);
      const candidate: LegacyCandidate | AttestationLayerCandidate =
        spec.format === 'legacy'
          ? { format: 'legacy', imageDigest, payload: blob, layerDigest: layer.digest, annotations }
          : { format: 'att', imageDigest, envelope: blob, layerDigest: layer.digest, annotations };
      out.candidates.push(candidate);
    } catch (err) {
      if (isOutage(err)) throw err;
      problem(`${tag} layer ${layer.digest}`, messageOf(err));
    }
  }
}

// Every format wanted, for every digest given (cosign usually signs the
// index; some sign the platform manifest too).
export async function discoverSignatures(
  registry: RegistryApi,
  ref: ImageReference,
  digests: readonly Digest[],
  wants: DiscoveryWants,
  signal: AbortSignal,
): Promise<Discovery> {
  const out: Discovery = { candidates: [], problems: [] };
  // Every digest and format at once: the lookups are independent.
  await Promise.all(
    [...new Set(digests)].flatMap((digest) => [
      discoverBundles(registry, ref, digest, signal, out),
      ...(wants.signatures ? [discoverLegacy(registry, ref, digest, 'sig', signal, out)] : []),
      ...(wants.attestations ? [discoverLegacy(registry, ref, digest, 'att', signal, out)] : []),
    ]),
  );
  return out;
}
