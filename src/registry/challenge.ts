// WWW-Authenticate (RFC 9110 §11.6.1): one or more challenges, each a scheme
// followed by either comma-separated auth-params (name=token or
// name="quoted, with \"escapes\"") or a token68. Registries send
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"
//   Basic realm="Registry Realm"

export interface Challenge {
  // Lowercased: "bearer", "basic", …
  readonly scheme: string;
  // Parameter names lowercased; values unquoted.
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN_CHAR_RE = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68_CHAR_RE = /[A-Za-z0-9\-._~+/]/;
// Far beyond any real header; keeps the scan bounded on garbage.
const MAX_HEADER_LENGTH = 16 * 1024;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text.charAt(this.pos);
  }

  skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  skipSpacesAndCommas(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++;
  }

  token(): string {
    const start = this.pos;
    while (!this.done && TOKEN_CHAR_RE.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  // A quoted-string starting at the opening quote; undefined if unterminated.
  quoted(): string | undefined {
    this.pos++;
    let out = '';
    while (!this.done) {
      const c = this.peek();
      this.pos++;
      if (c === '"') return out;
      if (c === '\\' && !this.done) {
        out += this.peek();
        this.pos++;
      } else {
        out += c;
      }
    }
    return undefined;
  }
}

// Tries to read `name = value` at the scanner; restores the position and
// returns undefined when what follows is not an auth-param (e.g. a new scheme).
function readParam(s: Scanner): [string, string] | undefined {
  const start = s.pos;
  const name = s.token();
  if (name === '') return undefined;
  s.skipSpaces();
  if (s.peek() !== '=') {
    s.pos = start;
    return undefined;
  }
  s.pos++;
  s.skipSpaces();
  const quoted = s.peek() === '"';
  const value = quoted ? s.quoted() : s.token();
  // An unquoted value must be a non-empty token ("abc==" is a token68).
  if (value === undefined || (!quoted && value === '')) {
    s.pos = start;
    return undefined;
  }
  return [name.toLowerCase(), value];
}

// A token68 right after the scheme (e.g. "Negotiate abc123=="), skipped.
function skipToken68(s: Scanner): boolean {
  const start = s.pos;
  while (!s.done && TOKEN68_CHAR_RE.test(s.peek())) s.pos++;
  if (s.pos === start) return false;
  while (s.peek() === '=') s.pos++;
  s.skipSpaces();
  if (s.done || s.peek() === ',') return true;
  s.pos = start;
  return false;
}

export function parseWwwAuthenticate(header: string): Challenge[] {
  const s = new Scanner(header.slice(0, MAX_HEADER_LENGTH));
  const challenges: Challenge[] = [];
  while (!s.done) {
    s.skipSpacesAndCommas();
    if (s.done) break;
    const scheme = s.token();
    if (scheme === '') break; // not a challenge: stop rather than guess
    // No prototype: a parameter named __proto__ is a parameter like any other.
    const params: Record<string, string> = Object.create(null) as Record<string, string>;
    s.skipSpaces();
    const first = readParam(s);
    if (first !== undefined) {
      params[first[0]] = first[1];
      // More params follow after commas, until something that is not one.
      for (;;) {
        const save = s.pos;
        s.skipSpaces();
        if (s.peek() !== ',') break;
        s.skipSpacesAndCommas();
        const next = readParam(s);
        if (next === undefined) {
          s.pos = save;
          break;
        }
        params[next[0]] = next[1];
      }
      challenges.push({ scheme: scheme.toLowerCase(), params });
      continue;
    }
    challenges.push({ scheme: scheme.toLowerCase(), params });
    // Otherwise only a token68, a comma or the end may follow the scheme;
    // anything else is malformed: stop rather than guess.
    if (!skipToken68(s) && !s.done && s.peek() !== ',') break;
  }
  return challenges;
}
