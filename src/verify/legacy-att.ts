// Legacy cosign attestations (one layer of the `sha256-<hex>.att` manifest):
// the layer is a DSSE envelope, the certificate, Rekor SET bundle and RFC
// 3161 timestamp are layer annotations as for `.sig`. Turned into a v0.1
// Sigstore bundle holding the envelope, for @sigstore/verify.

import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity } from '@sigstore/verify';

import { messageOf } from './errors.js';
import { decodeBase64 } from './encoding.js';
import { field, parseStrictJson } from './json.js';
import { BUNDLE_V01, annotationMaterial, malformed, object, string } from './legacy.js';

import type { SignedEntity } from '@sigstore/verify';
import type { JsonValue } from './json.js';
import type { AttestationLayerCandidate, PreparedSignature } from './types.js';

export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

// Rekor entry kinds that log a DSSE envelope: intoto 0.0.2 (cosign 2.x
// attest) and dsse 0.0.1, checked by @sigstore/verify, and intoto 0.0.1
// (cosign 1.x), whose body intoto-v001.ts checks against the layer bytes.
const ATTESTATION_ENTRY_KINDS: readonly string[] = ['intoto', 'dsse'];

export function prepareLegacyAttestation(candidate: AttestationLayerCandidate): PreparedSignature {
  const what = `attestation layer ${candidate.layerDigest}`;
  const doc = object(parseStrictJson(candidate.envelope, what), what);
  const payloadType = string(field(doc, 'payloadType', what), `${what} payloadType`);
  const payload = decodeBase64(string(field(doc, 'payload', what), `${what} payload`), `${what} payload`);
  const signatures = field(doc, 'signatures', what);
  if (!Array.isArray(signatures) || signatures.length !== 1) {
    throw malformed(`${what} has ${Array.isArray(signatures) ? signatures.length : 'no'} DSSE signatures; exactly one is expected`);
  }
  const only = object((signatures as readonly JsonValue[])[0], `${what} signature`);
  const sig = string(field(only, 'sig', what), `${what} signature sig`);
  decodeBase64(sig, `${what} signature sig`);
  const keyid = field(only, 'keyid', what);

  const { leafDer, verificationMaterial } = annotationMaterial(candidate.annotations, ATTESTATION_ENTRY_KINDS);
  const json = {
    mediaType: BUNDLE_V01,
    verificationMaterial,
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType,
      signatures: [{ sig, keyid: typeof keyid === 'string' ? keyid : '' }],
    },
  };
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundleFromJSON(json));
  } catch (err) {
    throw malformed(`${what} cannot be read as a Sigstore bundle: ${messageOf(err)}`, err);
  }
  // cosign timestamps an attestation's whole signed payload, the envelope
  // JSON (the layer blob), not the raw signature (its signature annotation
  // is empty); @sigstore/verify checks RFC 3161 tokens over
  // `signature.signature`, so for those that is the blob here, while every
  // signature check still uses the real signature.
  if (entity.timestamps.some((t) => t.$case === 'timestamp-authority')) {
    entity = { ...entity, signature: timestampedOver(entity.signature, candidate.envelope) };
  }
  return { entity, content: { kind: 'dsse', payloadType, payload }, leafDer, envelope: candidate.envelope };
}

// The signature content, with the bytes RFC 3161 timestamps cover in place
// of the signature (every method still checks the real one).
function timestampedOver(content: SignedEntity['signature'], covered: Buffer): SignedEntity['signature'] {
  return {
    signature: covered,
    compareSignature: (s) => content.compareSignature(s),
    compareDigest: (d) => content.compareDigest(d),
    compareSignedDigest: (d) => content.compareSignedDigest(d),
    verifySignature: (k) => content.verifySignature(k),
  };
}
