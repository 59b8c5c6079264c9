// What HashiCorp's HCL v1 decoder (js-hcl-parser, see hcl.ts) returns for a
// plugin_data text, read into plain data or a CONFIG_SYNTAX error. Apart
// from the decoder itself, so that the plugin can run the decoder in a
// short-lived child process (hcl-child.ts) and read its answer here, with the
// same checks and messages as in process.

import { AttestorError, messageOf } from '../errors.js';

export type HclValue = string | number | boolean | null | HclValue[] | HclObject;
export interface HclObject {
  [key: string]: HclValue;
}

// SPIRE configs are small; refuse anything that is clearly not one.
export const MAX_CONFIG_BYTES = 1024 * 1024;

const ERROR_PREFIX = 'unable to ';
const POSITION = /^At (\d+):(\d+): (.*)$/s;

function stripComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .split('\n')
    .map((line) => line.replace(/(^|\s)(#|\/\/).*$/, ''))
    .join('\n')
    .trim();
}

// HCL v1 stops silently at an unexpected end of input ("a = " or a lone "{"
// decode to nothing). A configuration that loses keys without a word is a
// security problem for us, so those two shapes are errors.
function checkTruncation(text: string, decoded: HclObject): void {
  const content = stripComments(text);
  if (content === '') return;
  if (content.endsWith('=')) {
    throw new AttestorError('CONFIG_SYNTAX', 'plugin_data: HCL syntax error: the last key has no value (truncated configuration?)');
  }
  if (Object.keys(decoded).length === 0 && !/^\{\s*\}$/.test(content)) {
    throw new AttestorError('CONFIG_SYNTAX', 'plugin_data: HCL syntax error: no key could be read (truncated or malformed configuration?)');
  }
}

function syntaxError(raw: string): AttestorError {
  // "unable to parse JSON: At 3:7: illegal char escape" -> line 3, column 7.
  const detail = raw.slice(raw.indexOf(':') + 1).trim();
  const at = POSITION.exec(detail);
  const message = at ? `plugin_data: HCL syntax error at line ${at[1]}, column ${at[2]}: ${at[3]}` : `plugin_data: HCL syntax error: ${detail}`;
  return new AttestorError('CONFIG_SYNTAX', message);
}

function isHclObject(value: unknown): value is HclObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Before the text goes to the decoder.
export function checkConfigSize(text: string): void {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    throw new AttestorError('CONFIG_SYNTAX', `plugin_data: configuration larger than ${MAX_CONFIG_BYTES} bytes`);
  }
}

// The decoder threw instead of answering.
export function decoderFailed(detail: unknown): AttestorError {
  return new AttestorError('CONFIG_SYNTAX', `plugin_data: HCL parser failed: ${messageOf(detail)}`);
}

// `out` is the decoder's answer for `text`: JSON, or "unable to ...".
export function readHclOutput(text: string, out: string): HclObject {
  if (out.startsWith(ERROR_PREFIX)) throw syntaxError(out);
  const decoded: unknown = JSON.parse(out);
  if (!isHclObject(decoded)) {
    throw new AttestorError('CONFIG_SYNTAX', 'plugin_data: configuration must be an object of keys');
  }
  checkTruncation(text, decoded);
  return decoded;
}
