// Content digests: syntax checks and hashing. Only sha256 and sha512 (the
// algorithms the OCI image spec registers); hex is lowercase and of the
// algorithm's exact length.

import { createHash } from 'node:crypto';

// A content digest, `<algorithm>:<lowercase hex>`.
export type Digest = `sha256:${string}` | `sha512:${string}`;

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };

const DIGEST_RE = /^(sha256|sha512):([a-f0-9]+)$/;

export function isDigest(value: string): value is Digest {
  const m = DIGEST_RE.exec(value);
  if (m === null) return false;
  const algorithm = m[1] as DigestAlgorithm;
  return (m[2] ?? '').length === HEX_LENGTH[algorithm];
}

export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

// The hex part of a digest ("sha256:ab…" -> "ab…").
export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function computeDigest(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  const hex = createHash(algorithm).update(bytes).digest('hex');
  return `${algorithm}:${hex}`;
}
