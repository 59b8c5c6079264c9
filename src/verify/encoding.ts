// Strict decoders for the text encodings found in cosign annotations and
// Rekor entry bodies. Buffer.from(x, 'base64') silently skips garbage, so
// everything attacker-supplied goes through these instead.

import { SignatureError } from './errors.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX = /^[0-9a-f]*$/;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END ([A-Z0-9 ]+)-----/g;

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

// Standard base64 with padding; `what` names the field in errors.
export function decodeBase64(text: string, what: string): Buffer {
  if (text.length === 0 || !BASE64.test(text)) {
    throw new SignatureError('SIGNATURE_MALFORMED', `${what} is not valid base64`);
  }
  return Buffer.from(text, 'base64');
}

// Lowercase hex of exactly `bytes` bytes.
export function decodeHex(text: string, bytes: number, what: string): Buffer {
  if (text.length !== bytes * 2 || !HEX.test(text)) {
    throw new SignatureError('SIGNATURE_MALFORMED', `${what} is not ${bytes} bytes of lowercase hex`);
  }
  return Buffer.from(text, 'hex');
}

// All PEM blocks in `text`, which must contain nothing but PEM blocks and
// whitespace.
export function decodePem(text: string, what: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let rest = '';
  let last = 0;
  for (const m of text.matchAll(PEM_BLOCK)) {
    const [whole, label = '', body = '', endLabel = ''] = m;
    if (label !== endLabel) {
      throw new SignatureError('SIGNATURE_MALFORMED', `${what} has a PEM block whose BEGIN and END labels differ`);
    }
    rest += text.slice(last, m.index);
    last = m.index + whole.length;
    blocks.push({ label, der: decodeBase64(body.replace(/[\r\n]/g, ''), `${what} (${label})`) });
  }
  rest += text.slice(last);
  if (blocks.length === 0 || rest.trim() !== '') {
    throw new SignatureError('SIGNATURE_MALFORMED', `${what} is not PEM`);
  }
  return blocks;
}

// The first block of `text`, which must carry `label`.
export function decodeFirstPem(text: string, label: string, what: string): Buffer {
  const first = decodePem(text, what)[0];
  if (first === undefined || first.label !== label) {
    throw new SignatureError('SIGNATURE_MALFORMED', `${what} does not start with a PEM ${label}`);
  }
  return first.der;
}
