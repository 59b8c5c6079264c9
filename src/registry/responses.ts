// What the registry client checks of what it is handed (references,
// digests) and reads from what it gets back (error bodies, the
// Docker-Content-Digest header), as typed errors.

import { AttestorError, messageOf } from '../errors.js';
import { isDigest } from '../util/digest.js';
import { formatReference, parseReference } from './reference.js';

import type { HttpResponse } from './http.js';
import type { Digest, ImageReference } from './types.js';

function referenceError(message: string): AttestorError {
  return new AttestorError('REFERENCE_INVALID', message);
}

// A reference handed in by a caller must be one parseReference would produce.
export function checkReference(ref: ImageReference): void {
  let again: ImageReference;
  try {
    again = parseReference(formatReference(ref));
  } catch (err) {
    throw referenceError(`invalid image reference ${formatReference(ref)}: ${messageOf(err)}`);
  }
  if (again.registry !== ref.registry || again.repository !== ref.repository) {
    throw referenceError(`invalid image reference: registry ${JSON.stringify(ref.registry)}, repository ${JSON.stringify(ref.repository)}`);
  }
}

export function checkDigest(digest: string, what: string): asserts digest is Digest {
  if (!isDigest(digest)) throw referenceError(`${what}: ${JSON.stringify(digest)} is not a valid digest`);
}

// "errors[0].code: message" of a distribution error body, if there is one.
export function errorDetail(res: HttpResponse): string {
  try {
    const parsed: unknown = JSON.parse(res.body.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'errors' in parsed && Array.isArray(parsed.errors)) {
      const first: unknown = parsed.errors[0];
      if (typeof first === 'object' && first !== null) {
        const code = 'code' in first && typeof first.code === 'string' ? first.code : '';
        const message = 'message' in first && typeof first.message === 'string' ? first.message : '';
        const text = [code, message].filter((s) => s !== '').join(': ');
        if (text !== '') return ` (${text.slice(0, 200)})`;
      }
    }
  } catch {
    // not JSON: no detail
  }
  return '';
}

export function unexpected(res: HttpResponse, what: string): AttestorError {
  return new AttestorError('REGISTRY_RESPONSE', `${what}: unexpected HTTP ${res.status}${errorDetail(res)}`);
}

// The Docker-Content-Digest header: undefined when absent; malformed is an error.
export function contentDigest(res: HttpResponse, what: string): Digest | undefined {
  const header = res.headers.get('docker-content-digest');
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (!isDigest(value)) throw new AttestorError('REGISTRY_RESPONSE', `${what}: malformed Docker-Content-Digest ${JSON.stringify(value.slice(0, 150))}`);
  return value;
}
