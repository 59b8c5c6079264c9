// plugin_data arrives as HCL v1 text (SPIRE re-prints the agent config's
// `plugin_data { ... }` block, keeping quoted keys as they were) or as a
// plugin_data_file's raw bytes (HCL v1 or JSON, which HCL v1 also reads).
// We decode it with HashiCorp's own HCL v1 library (compiled to JavaScript by
// js-hcl-parser), so we read exactly what SPIRE's Go plugins would read:
// repeated blocks become lists, `name "label" { }` becomes a list of
// single-key objects, and a repeated scalar key keeps its last value.

import hclV1 from 'js-hcl-parser';

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

// Decode HCL v1 or JSON text into plain data. Throws CONFIG_SYNTAX.
export function parseHcl(text: string): HclObject {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    throw new AttestorError('CONFIG_SYNTAX', `plugin_data: configuration larger than ${MAX_CONFIG_BYTES} bytes`);
  }
  let out: string;
  try {
    out = hclV1.parse(text);
  } catch (err) {
    throw new AttestorError('CONFIG_SYNTAX', `plugin_data: HCL parser failed: ${messageOf(err)}`);
  }
  if (out.startsWith(ERROR_PREFIX)) throw syntaxError(out);
  const decoded: unknown = JSON.parse(out);
  if (!isHclObject(decoded)) {
    throw new AttestorError('CONFIG_SYNTAX', 'plugin_data: configuration must be an object of keys');
  }
  checkTruncation(text, decoded);
  return decoded;
}
