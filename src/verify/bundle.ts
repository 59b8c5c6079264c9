// cosign v3 signatures: a Sigstore bundle (v0.3) attached as an OCI 1.1
// referrer, holding a DSSE envelope around an in-toto Statement.

import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity } from '@sigstore/verify';

import { SignatureError, messageOf } from './errors.js';

import type { Bundle } from '@sigstore/bundle';
import type { SignedEntity } from '@sigstore/verify';
import type { BundleCandidate, PreparedSignature } from './types.js';

// cosign requires at least v0.3 for bundles stored as referrers; both
// spellings of v0.3 are accepted, nothing older or (yet) newer.
export const BUNDLE_V03_MEDIA_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
];

export function prepareBundle(candidate: BundleCandidate): PreparedSignature {
  const malformed = malformedBy(candidate);
  const raw = candidate.bundle;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw malformed('is not a JSON object');
  }
  const mediaType = (raw as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string' || !BUNDLE_V03_MEDIA_TYPES.includes(mediaType)) {
    throw new SignatureError(
      'UNSUPPORTED',
      `bundle ${candidate.manifestDigest} has media type ${JSON.stringify(mediaType)}; only Sigstore bundle v0.3 is accepted`,
    );
  }
  let bundle: Bundle;
  let entity: SignedEntity;
  try {
    bundle = bundleFromJSON(raw);
    entity = toSignedEntity(bundle);
  } catch (err) {
    throw malformed(`is not a valid Sigstore bundle: ${messageOf(err)}`, err);
  }
  if (bundle.content.$case !== 'dsseEnvelope') {
    throw new SignatureError('UNSUPPORTED', `bundle ${candidate.manifestDigest} holds a message signature, not a DSSE envelope`);
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.signatures.length !== 1) {
    throw malformed(`has ${envelope.signatures.length} DSSE signatures; exactly one is expected`);
  }
  return {
    entity,
    content: { kind: 'dsse', payloadType: envelope.payloadType, payload: Buffer.from(envelope.payload) },
    leafDer: leafOf(bundle),
  };
}

// The leaf certificate's bytes as the bundle carries them (v0.3: a single
// certificate; older: the first of the chain).
function leafOf(bundle: Bundle): Buffer | undefined {
  const material = bundle.verificationMaterial.content;
  switch (material.$case) {
    case 'certificate':
      return Buffer.from(material.certificate.rawBytes);
    case 'x509CertificateChain': {
      const first = material.x509CertificateChain.certificates[0];
      return first === undefined ? undefined : Buffer.from(first.rawBytes);
    }
    case 'publicKey':
      return undefined;
  }
}

function malformedBy(candidate: BundleCandidate): (problem: string, cause?: unknown) => SignatureError {
  return (problem, cause) =>
    new SignatureError('SIGNATURE_MALFORMED', `bundle ${candidate.manifestDigest} ${problem}`, cause === undefined ? undefined : { cause });
}
