// Stores a legacy cosign signature in a registry exactly as cosign lays it
// out: an OCI manifest tagged `sha256-<hex>.sig` whose layer is the
// simple-signing payload, with the signature material in the layer's
// annotations. Used for keyless signatures made with test Sigstore material.

import { putBlob, putManifest } from './registries.js';

import type { LegacyCandidate } from '../../src/verify/types.js';
import type { PushTarget } from './registries.js';

// Several candidates (all for one image digest) become one layer each.
export async function pushLegacySignature(target: PushTarget, first: LegacyCandidate, ...more: LegacyCandidate[]): Promise<void> {
  const candidates = [first, ...more];
  const layers = [];
  for (const candidate of candidates) {
    if (candidate.imageDigest !== first.imageDigest) throw new Error('pushLegacySignature: candidates for different images');
    layers.push({
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      digest: await putBlob(target, candidate.payload),
      size: candidate.payload.length,
      annotations: candidate.annotations,
    });
  }
  const config = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
  const configDigest = await putBlob(target, config);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers,
  };
  const tag = `${first.imageDigest.replace(':', '-')}.sig`;
  await putManifest(target, tag, Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
}
