// Generic generators: random bytes and text, random JSON, and structured
// mutations of a valid document (one path replaced, deleted, retyped or
// doubled by a case variant; or its serialized text cut, flipped or spliced).

import fc from 'fast-check';

import type { JsonValue } from '../../src/util/strict-json.js';

type Mutable = { [key: string]: MJson } | MJson[] | string | number | boolean | null;
type MJson = Mutable;

// Values parsers trip over: empty, huge, negative, fractional, wrong type,
// digests and hex of the right length, prototype keys.
export const interestingJson: fc.Arbitrary<JsonValue> = fc.constantFrom<JsonValue>(
  '',
  ' ',
  '0',
  '-1',
  'null',
  '__proto__',
  'constructor',
  'sha256:',
  `sha256:${'a'.repeat(64)}`,
  `sha256:${'A'.repeat(64)}`,
  `sha512:${'b'.repeat(128)}`,
  'a'.repeat(64),
  'x'.repeat(5000),
  '\u0000',
  '\ud800',
  'é',
  'K',
  '\u212a',
  'AAAA',
  '====',
  '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
  '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
  0,
  -0,
  -1,
  1,
  2,
  1.5,
  1e21,
  -1e21,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_VALUE,
  true,
  false,
  null,
  [],
  {},
  [null],
  { '': '' },
  JSON.parse('{"__proto__":"x"}') as JsonValue,
);

export const anyJson: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 3, arbitrary: interestingJson },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue> },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })) },
);

// Random bytes, and random text as UTF-8 (valid and invalid).
export const randomBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 512 }),
  fc.string({ unit: 'binary', maxLength: 256 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
  fc.string({ unit: 'grapheme-ascii', maxLength: 256 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
);

export const randomText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 256 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 256 }),
  fc.string({ unit: 'binary-ascii', maxLength: 256 }),
);

function clone<T>(value: T): T {
  return structuredClone(value);
}

// Every path (keys and indexes) into a JSON document, the root included.
export function pathsOf(doc: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(doc)) doc.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (typeof doc === 'object' && doc !== null) for (const [k, v] of Object.entries(doc)) pathsOf(v, [...prefix, k], out);
  return out;
}

type Mutation =
  | { readonly op: 'replace'; readonly value: JsonValue }
  | { readonly op: 'delete' }
  | { readonly op: 'caseVariant' }
  | { readonly op: 'wrap' }
  | { readonly op: 'stringify' }
  | { readonly op: 'addKey'; readonly key: string; readonly value: JsonValue };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: anyJson.map((value) => ({ op: 'replace' as const, value })) },
  { weight: 2, arbitrary: fc.constant({ op: 'delete' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'caseVariant' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'wrap' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'stringify' as const }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'mediaType', 'kind', ''), fc.string({ maxLength: 8 })), anyJson)
      .map(([key, value]) => ({ op: 'addKey' as const, key, value })),
  },
);

function applyMutation(doc: MJson, path: readonly (string | number)[], m: Mutation): MJson {
  if (path.length === 0) {
    if (m.op === 'replace') return clone(m.value as MJson);
    if (m.op === 'wrap') return [doc];
    if (m.op === 'stringify') return JSON.stringify(doc);
    if (m.op === 'addKey' && typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
      Object.defineProperty(doc, m.key, { value: clone(m.value), enumerable: true, writable: true, configurable: true });
    }
    return doc;
  }
  let parent: MJson = doc;
  for (const step of path.slice(0, -1)) parent = (parent as Record<string | number, MJson>)[step] as MJson;
  const last = path[path.length - 1] as string | number;
  const holder = parent as Record<string | number, MJson>;
  const current = holder[last] as MJson;
  switch (m.op) {
    case 'replace':
      holder[last] = clone(m.value as MJson);
      break;
    case 'delete':
      if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
      else Reflect.deleteProperty(holder, last);
      break;
    case 'caseVariant':
      if (!Array.isArray(parent) && typeof last === 'string' && last.toUpperCase() !== last) {
        Object.defineProperty(holder, last.charAt(0).toUpperCase() + last.slice(1), { value: clone(current), enumerable: true, writable: true });
      } else if (!Array.isArray(parent) && typeof last === 'string') {
        holder[last.toLowerCase()] = clone(current);
      } else if (Array.isArray(parent)) {
        parent.push(clone(current));
      }
      break;
    case 'wrap':
      holder[last] = [current];
      break;
    case 'stringify':
      holder[last] = JSON.stringify(current);
      break;
    case 'addKey':
      if (typeof current === 'object' && current !== null && !Array.isArray(current)) {
        Object.defineProperty(current, m.key, { value: clone(m.value), enumerable: true, writable: true, configurable: true });
      } else {
        holder[last] = clone(m.value as MJson);
      }
      break;
  }
  return doc;
}

// The seed document with one to `max` paths mutated.
export function mutatedJson(seed: unknown, max = 2): fc.Arbitrary<unknown> {
  const paths = pathsOf(seed);
  const one = fc.tuple(fc.constantFrom(...paths), mutation);
  return fc.array(one, { minLength: 1, maxLength: max }).map((steps) => {
    let doc = clone(seed) as MJson;
    for (const [path, m] of steps) {
      try {
        doc = applyMutation(doc, path, m);
      } catch {
        // an earlier step removed or retyped the path: skip this one
      }
    }
    return doc;
  });
}

type TextEdit =
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'insert'; readonly at: number; readonly text: string }
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'duplicate'; readonly at: number; readonly length: number };

const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.nat().map((at) => ({ op: 'truncate' as const, at })),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 16 })).map(([at, length]) => ({ op: 'delete' as const, at, length })),
  fc
    .tuple(
      fc.nat(),
      fc.oneof(
        fc.constantFrom('"', '\\', ',', ':', '{', '}', '[', ']', '\n', '\r\n', '=', '#', '/*', '\u0000', '\ufeff', '\ud800'),
        fc.string({ maxLength: 8 }),
      ),
    )
    .map(([at, text]) => ({ op: 'insert' as const, at, text })),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => ({ op: 'flip' as const, at, bit })),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 64 })).map(([at, length]) => ({ op: 'duplicate' as const, at, length })),
);

function applyEdit(bytes: Buffer, e: TextEdit): Buffer {
  const at = bytes.length === 0 ? 0 : e.at % (bytes.length + 1);
  switch (e.op) {
    case 'truncate':
      return bytes.subarray(0, at);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e.length)]);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(e.text, 'utf8'), bytes.subarray(at)]);
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const out = Buffer.from(bytes);
      const i = at % out.length;
      out[i] = (out[i] ?? 0) ^ (1 << e.bit);
      return out;
    }
    case 'duplicate':
      return Buffer.concat([bytes.subarray(0, at + e.length), bytes.subarray(at)]);
  }
}

// Bytes of `text` with one to three byte-level edits.
export function mutatedBytes(text: string | Buffer): fc.Arbitrary<Buffer> {
  const base = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  return fc.array(textEdit, { minLength: 1, maxLength: 3 }).map((edits) => edits.reduce(applyEdit, base));
}

// Valid documents, their JSON mutations, and byte-level mutations of them.
export function documentBytes(seeds: readonly unknown[]): fc.Arbitrary<Buffer> {
  const seed = fc.constantFrom(...seeds);
  return fc.oneof(
    { weight: 1, arbitrary: seed.map((s) => Buffer.from(JSON.stringify(s))) },
    { weight: 4, arbitrary: fc.oneof(...seeds.map((s) => mutatedJson(s))).map((d) => Buffer.from(JSON.stringify(d) ?? 'null')) },
    { weight: 2, arbitrary: fc.oneof(...seeds.map((s) => mutatedBytes(JSON.stringify(s)))) },
    { weight: 1, arbitrary: randomBytes.map((b) => Buffer.from(b)) },
  );
}
