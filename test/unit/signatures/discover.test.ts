// Signature discovery against an in-memory registry: what is found, what is
// reported, and that junk listed first never hides a genuine signature
// (security review F6).

import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { AttestorError } from '../../../src/errors.js';
import { BUNDLE_ARTIFACT_TYPE, DISCOVERY_LIMITS, discoverSignatures } from '../../../src/signatures/discover.js';

import type { Descriptor, Digest, FetchedManifest, ImageReference, Manifest, RegistryApi } from '../../../src/registry/types.js';

const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const BUNDLE_LAYER = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const sha256 = (bytes: Buffer | string): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const IMAGE = sha256('image');
const REF: ImageReference = { registry: 'r.test', repository: 'acme/app', digest: IMAGE, original: `r.test/acme/app@${IMAGE}` };
const signal = new AbortController().signal;
const BOTH = { signatures: true, attestations: true } as const;

// Blobs and manifests by digest, legacy .sig manifests by tag, referrers per
// subject; `outage` makes every call fail like an unreachable registry.
class MemoryRegistry implements RegistryApi {
  readonly blobs = new Map<Digest, Buffer>();
  readonly manifests = new Map<string, Manifest>();
  readonly referrersOf = new Map<Digest, Descriptor[]>();
  fetches = 0;
  outage = false;

  blob(bytes: Buffer | string, mediaType: string, size?: number): Descriptor {
    const buf = Buffer.from(bytes);
    const digest = sha256(buf);
    this.blobs.set(digest, buf);
    return { mediaType, digest, size: size ?? buf.length };
  }

  manifest(key: string | undefined, manifest: Manifest): Digest {
    const digest = sha256(JSON.stringify(manifest));
    this.manifests.set(key ?? digest, manifest);
    return digest;
  }

  async resolve(): Promise<Digest | undefined> {
    return undefined;
  }

  async getManifest(ref: ImageReference): Promise<FetchedManifest | undefined> {
    this.#check();
    this.fetches++;
    const key = ref.digest ?? ref.tag ?? '';
    const manifest = this.manifests.get(key);
    if (!manifest) return undefined;
    const bytes = Buffer.from(JSON.stringify(manifest));
    return { digest: ref.digest ?? sha256(bytes), mediaType: manifest.mediaType, bytes, manifest };
  }

  async referrers(_ref: ImageReference, digest: Digest): Promise<Descriptor[]> {
    this.#check();
    return [...(this.referrersOf.get(digest) ?? [])];
  }

  async getBlob(_ref: ImageReference, digest: Digest, maxBytes: number): Promise<Buffer> {
    this.#check();
    this.fetches++;
    const bytes = this.blobs.get(digest);
    if (!bytes) throw new AttestorError('REGISTRY_RESPONSE', `blob ${digest}: not found (404)`);
    if (bytes.length > maxBytes) throw new AttestorError('TOO_LARGE', `blob ${digest} is over ${maxBytes} bytes`);
    return bytes;
  }

  #check(): void {
    if (this.outage) throw new AttestorError('REGISTRY_UNAVAILABLE', 'registry down');
  }
}

const config = (reg: MemoryRegistry): Descriptor => reg.blob('{}', 'application/vnd.oci.image.config.v1+json');

// A bundle referrer: its manifest (one bundle layer) and its descriptor.
function referrer(reg: MemoryRegistry, bundle: string, options: { subject?: Digest; layerType?: string; declaredSize?: number } = {}): Descriptor {
  const layer = reg.blob(bundle, options.layerType ?? BUNDLE_LAYER, options.declaredSize);
  const manifest: Manifest = {
    kind: 'manifest',
    mediaType: OCI_MANIFEST,
    config: config(reg),
    layers: [layer],
    subject: { mediaType: OCI_MANIFEST, digest: options.subject ?? IMAGE, size: 1 },
    artifactType: BUNDLE_ARTIFACT_TYPE,
  };
  return { mediaType: OCI_MANIFEST, digest: reg.manifest(undefined, manifest), size: 100, artifactType: BUNDLE_ARTIFACT_TYPE };
}

function legacyTag(reg: MemoryRegistry, layers: Descriptor[], suffix: 'sig' | 'att' = 'sig'): void {
  reg.manifest(`${IMAGE.replace(':', '-')}.${suffix}`, { kind: 'manifest', mediaType: OCI_MANIFEST, config: config(reg), layers });
}

const DSSE = 'application/vnd.dsse.envelope.v1+json';

const GENUINE_BUNDLE = JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', genuine: true });

describe('discoverSignatures', () => {
  it('finds a bundle referrer and legacy layers, and reports what it skips', async () => {
    const reg = new MemoryRegistry();
    reg.referrersOf.set(IMAGE, [
      referrer(reg, GENUINE_BUNDLE),
      { mediaType: OCI_MANIFEST, digest: sha256('other'), size: 1, artifactType: 'application/other' },
    ]);
    legacyTag(reg, [reg.blob('{"critical":{}}', SIMPLE_SIGNING), reg.blob('x', 'application/octet-stream')]);
    const found = await discoverSignatures(reg, REF, [IMAGE], BOTH, signal);
    expect(found.candidates.map((c) => c.format).sort()).toEqual(['bundle', 'legacy']);
    expect(found.problems.map((p) => p.error)).toEqual(['unexpected layer media type application/octet-stream']);
  });

  it('16 junk bundle referrers listed first do not hide the genuine one', async () => {
    const reg = new MemoryRegistry();
    const junk = [
      ...Array.from({ length: 4 }, (_, i) => referrer(reg, `not json ${i}`)),
      ...Array.from({ length: 4 }, (_, i) => referrer(reg, `{"big":${i}}`, { declaredSize: DISCOVERY_LIMITS.maxBundleBytes + 1 })),
      ...Array.from({ length: 4 }, (_, i) => referrer(reg, `{"other":${i}}`, { subject: sha256(`other image ${i}`) })),
      ...Array.from({ length: 4 }, (_, i) => referrer(reg, `{"layer":${i}}`, { layerType: 'application/octet-stream' })),
    ];
    reg.referrersOf.set(IMAGE, [...junk, referrer(reg, GENUINE_BUNDLE)]);
    const found = await discoverSignatures(reg, REF, [IMAGE], BOTH, signal);
    expect(found.candidates).toHaveLength(1);
    expect(found.candidates[0]).toMatchObject({ format: 'bundle', bundle: { genuine: true } });
    expect(found.problems.filter((p) => p.format === 'bundle')).toHaveLength(16);
  });

  it('32 junk legacy layers listed first do not hide the genuine one', async () => {
    const reg = new MemoryRegistry();
    const junk = [
      ...Array.from({ length: 16 }, (_, i) => reg.blob(`junk ${i}`, 'application/octet-stream')),
      ...Array.from({ length: 8 }, (_, i) => reg.blob(`not json ${i}`, SIMPLE_SIGNING)),
      ...Array.from({ length: 8 }, (_, i) => reg.blob(`{"big":${i}}`, SIMPLE_SIGNING, DISCOVERY_LIMITS.maxPayloadBytes + 1)),
    ];
    legacyTag(reg, [...junk, reg.blob('{"genuine":true}', SIMPLE_SIGNING)]);
    const found = await discoverSignatures(reg, REF, [IMAGE], BOTH, signal);
    expect(found.candidates).toHaveLength(1);
    expect(found.candidates[0]?.format === 'legacy' && found.candidates[0].payload.toString()).toBe('{"genuine":true}');
  });

  it('passes every well-formed candidate on to verification: unverifiable ones cannot crowd out the genuine one', async () => {
    const reg = new MemoryRegistry();
    reg.referrersOf.set(IMAGE, [...Array.from({ length: 20 }, (_, i) => referrer(reg, `{"forged":${i}}`)), referrer(reg, GENUINE_BUNDLE)]);
    const found = await discoverSignatures(reg, REF, [IMAGE], BOTH, signal);
    expect(found.candidates).toHaveLength(21);
    expect(found.candidates.at(-1)).toMatchObject({ bundle: { genuine: true } });
  });

  it('bounds the work at maxTries candidates per digest and format, and says so', async () => {
    const flood = new MemoryRegistry();
    flood.referrersOf.set(
      IMAGE,
      Array.from({ length: 200 }, (_, i) => referrer(flood, `junk ${i}`)),
    );
    const flooded = await discoverSignatures(flood, REF, [IMAGE], BOTH, signal);
    expect(flooded.candidates).toHaveLength(0);
    // One manifest and one blob fetch per referrer tried, and the two legacy tags.
    expect(flood.fetches).toBe(2 * DISCOVERY_LIMITS.maxTries + 2);
    expect(flooded.problems.at(-1)?.error).toBe(
      `limit of ${DISCOVERY_LIMITS.maxTries} candidates tried reached; ${200 - DISCOVERY_LIMITS.maxTries} more not considered`,
    );
  });

  it('a registry outage fails discovery instead of being skipped', async () => {
    const reg = new MemoryRegistry();
    reg.outage = true;
    await expect(discoverSignatures(reg, REF, [IMAGE], BOTH, signal)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
  });

  it('finds legacy .att layers (DSSE envelopes) with their annotations, and skips other layers and oversized envelopes without fetching them', async () => {
    const reg = new MemoryRegistry();
    const envelope = reg.blob('{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}', DSSE);
    legacyTag(
      reg,
      [
        reg.blob('{}', SIMPLE_SIGNING),
        { ...reg.blob('{"big":1}', DSSE), size: DISCOVERY_LIMITS.maxEnvelopeBytes + 1 },
        { ...envelope, annotations: { predicateType: 'https://slsa.dev/provenance/v1', 'dev.cosignproject.cosign/signature': '' } },
      ],
      'att',
    );
    const before = reg.fetches;
    const found = await discoverSignatures(reg, REF, [IMAGE], BOTH, signal);
    expect(found.candidates).toEqual([
      expect.objectContaining({
        format: 'att',
        layerDigest: envelope.digest,
        annotations: { predicateType: 'https://slsa.dev/provenance/v1', 'dev.cosignproject.cosign/signature': '' },
      }),
    ]);
    expect(found.problems.map((p) => [p.format, p.error])).toEqual([
      ['att', `unexpected layer media type ${SIMPLE_SIGNING}`],
      ['att', `envelope is ${DISCOVERY_LIMITS.maxEnvelopeBytes + 1} bytes, over the ${DISCOVERY_LIMITS.maxEnvelopeBytes}-byte cap`],
    ]);
    // The .sig and .att tags, and one blob: the skipped layers cost nothing.
    expect(reg.fetches - before).toBe(3);
  });

  it('asks only for what the policy can use: no .att without attestation rules, no .sig without signature rules', async () => {
    const reg = new MemoryRegistry();
    legacyTag(reg, [reg.blob('{"s":1}', SIMPLE_SIGNING)], 'sig');
    legacyTag(reg, [reg.blob('{"a":1}', DSSE)], 'att');
    const signaturesOnly = await discoverSignatures(reg, REF, [IMAGE], { signatures: true, attestations: false }, signal);
    expect(signaturesOnly.candidates.map((c) => c.format)).toEqual(['legacy']);
    const attestationsOnly = await discoverSignatures(reg, REF, [IMAGE], { signatures: false, attestations: true }, signal);
    expect(attestationsOnly.candidates.map((c) => c.format)).toEqual(['att']);
  });

  it('looks into referrers listed without an artifact type (cosign 3.x fallback indexes), after the declared bundles; other types cost no fetch', async () => {
    const reg = new MemoryRegistry();
    const declared = referrer(reg, GENUINE_BUNDLE);
    const untyped = referrer(reg, JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', untyped: true }));
    const emptyType = referrer(reg, JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', empty: true }));
    const { artifactType: _drop, ...untypedDescriptor } = untyped;
    reg.referrersOf.set(IMAGE, [
      untypedDescriptor,
      { ...emptyType, artifactType: 'application/vnd.oci.empty.v1+json' },
      { mediaType: OCI_MANIFEST, digest: sha256('sbom'), size: 1, artifactType: 'application/spdx+json' },
      declared,
    ]);
    const found = await discoverSignatures(reg, REF, [IMAGE], { signatures: false, attestations: false }, signal);
    expect(found.candidates.map((c) => (c.format === 'bundle' ? c.manifestDigest : ''))).toEqual([declared.digest, untyped.digest, emptyType.digest]);
    // Three manifests and three blobs; the SBOM was never fetched.
    expect(reg.fetches).toBe(6);
    expect(found.problems).toEqual([]);
  });

  it('a referrers lookup that fails without an outage (say, a manifest pushed at the fallback tag) is a problem of that format only', async () => {
    const reg = new MemoryRegistry();
    reg.referrers = async () => Promise.reject(new AttestorError('REGISTRY_RESPONSE', 'tag sha256-… holds an image manifest, not a referrers index'));
    legacyTag(reg, [reg.blob('{"genuine":true}', SIMPLE_SIGNING)]);
    const found = await discoverSignatures(reg, REF, [IMAGE], BOTH, signal);
    expect(found.candidates.map((c) => c.format)).toEqual(['legacy']);
    expect(found.problems).toEqual([expect.objectContaining({ format: 'bundle', error: expect.stringMatching(/holds an image manifest/) })]);
  });
});
