// plugin_data arrives as HCL v1 text (SPIRE re-prints the agent config's
// `plugin_data { ... }` block, keeping quoted keys as they were) or as a
// plugin_data_file's raw bytes (HCL v1 or JSON, which HCL v1 also reads).
// We decode it with HashiCorp's own HCL v1 library (compiled to JavaScript by
// js-hcl-parser), so we read exactly what SPIRE's Go plugins would read:
// repeated blocks become lists, `name "label" { }` becomes a list of
// single-key objects, and a repeated scalar key keeps its last value.
// Importing this module loads that library (GopherJS: ~15 MB resident for as
// long as the process lives); the plugin decodes in a child process instead
// (hcl-child.ts), with the same checks (hcl-output.ts).

import hclV1 from 'js-hcl-parser';

import { checkConfigSize, decoderFailed, readHclOutput } from './hcl-output.js';

import type { HclObject } from './hcl-output.js';

// The decoder's raw answer: JSON, or "unable to ..." for a syntax error.
export function decodeHclV1(text: string): string {
  return hclV1.parse(text);
}

// Decode HCL v1 or JSON text into plain data. Throws CONFIG_SYNTAX.
export function parseHcl(text: string): HclObject {
  checkConfigSize(text);
  let out: string;
  try {
    out = decodeHclV1(text);
  } catch (err) {
    throw decoderFailed(err);
  }
  return readHclOutput(text, out);
}
