// The strict JSON reader (util/strict-json.ts) with this folder's error:
// a malformed signed payload is SIGNATURE_MALFORMED.

import { strictJson } from '../util/strict-json.js';
import { SignatureError } from './errors.js';

export { foldKey, isJsonObject } from '../util/strict-json.js';
export type { JsonObject, JsonValue } from '../util/strict-json.js';

export const { parse: parseStrictJson, field } = strictJson((message) => new SignatureError('SIGNATURE_MALFORMED', message));
