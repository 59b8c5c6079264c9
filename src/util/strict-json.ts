// A strict JSON reader for documents Go programs read too: signed payloads
// (cosign), image manifests and configs (containerd).
//
// cosign (Go encoding/json) matches object keys case-insensitively and lets
// the last duplicate win; JSON.parse is case-sensitive and also lets the last
// duplicate win. A payload carrying both `docker-manifest-digest` and
// `Docker-manifest-digest` could therefore mean different images to cosign
// and to us. To rule out such parser differentials we reject invalid UTF-8,
// any object with two keys that are equal under Unicode case folding, and
// (in `field`) any key that only case-folds to the key we look for.

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

const MAX_DEPTH = 64;
const WHITESPACE = /[ \t\n\r]*/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERAL = /true|false|null/y;

// Case folding as Go's bytes.EqualFold sees it (K/k/U+212A, S/s/U+017F, ...).
export function foldKey(key: string): string {
  return key.toUpperCase().toLowerCase();
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// How a caller's error model says "malformed": the message names the
// document and the problem.
export type Malformed = (message: string) => Error;

export interface StrictJson {
  // Parse `bytes` (UTF-8) strictly; `what` names the document in errors.
  readonly parse: (bytes: Uint8Array, what: string) => JsonValue;
  // The value of `name` in `obj`, refusing keys that differ from `name` only
  // by case (Go would read those as `name`).
  readonly field: (obj: JsonObject, name: string, what: string) => JsonValue | undefined;
}

export function strictJson(malformed: Malformed): StrictJson {
  const fail = (what: string, problem: string): Error => malformed(`${what} ${problem}`);
  return {
    parse: (bytes, what) => parse(bytes, what, fail),
    field: (obj, name, what) => field(obj, name, what, fail),
  };
}

function parse(bytes: Uint8Array, what: string, malformed: (what: string, problem: string) => Error): JsonValue {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw malformed(what, 'is not valid UTF-8');
  }
  const reader = new Reader(text, what, malformed);
  const value = reader.value(0);
  reader.skipWhitespace();
  if (!reader.atEnd()) throw reader.fail('has trailing data after the JSON value');
  return value;
}

function field(obj: JsonObject, name: string, what: string, malformed: (what: string, problem: string) => Error): JsonValue | undefined {
  const folded = foldKey(name);
  for (const key of Object.keys(obj)) {
    if (key !== name && foldKey(key) === folded) {
      throw malformed(what, `has key ${JSON.stringify(key)}, a case variant of ${JSON.stringify(name)}`);
    }
  }
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}

class Reader {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly what: string,
    private readonly malformed: (what: string, problem: string) => Error,
  ) {}

  atEnd(): boolean {
    return this.pos === this.text.length;
  }

  skipWhitespace(): void {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.test(this.text);
    this.pos = WHITESPACE.lastIndex;
  }

  fail(problem: string): Error {
    return this.malformed(this.what, `${problem} (at offset ${this.pos})`);
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) throw this.fail('is nested too deeply');
    this.skipWhitespace();
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    const literal = this.match(LITERAL);
    if (literal !== undefined) return literal === 'null' ? null : literal === 'true';
    const number = this.match(NUMBER);
    if (number !== undefined) return Number(number);
    throw this.fail('is not valid JSON');
  }

  private match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (m === null) return undefined;
    this.pos = re.lastIndex;
    return m[0];
  }

  private string(): string {
    const token = this.match(STRING);
    if (token === undefined) throw this.fail('has an invalid string');
    return JSON.parse(token) as string;
  }

  private expect(c: string): void {
    this.skipWhitespace();
    if (this.text[this.pos] !== c) throw this.fail(`expected ${JSON.stringify(c)}`);
    this.pos++;
  }

  // Tries to consume `c` after optional whitespace.
  private eat(c: string): boolean {
    this.skipWhitespace();
    if (this.text[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  private object(depth: number): JsonObject {
    this.expect('{');
    const out: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>;
    const seen = new Set<string>();
    if (this.eat('}')) return out;
    do {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') throw this.fail('expected an object key');
      const key = this.string();
      const folded = foldKey(key);
      if (seen.has(folded)) throw this.fail(`has a duplicate or case-variant key ${JSON.stringify(key)}`);
      seen.add(folded);
      this.expect(':');
      out[key] = this.value(depth + 1);
    } while (this.eat(','));
    this.expect('}');
    return out;
  }

  private array(depth: number): JsonValue[] {
    this.expect('[');
    const out: JsonValue[] = [];
    if (this.eat(']')) return out;
    do {
      out.push(this.value(depth + 1));
    } while (this.eat(','));
    this.expect(']');
    return out;
  }
}
