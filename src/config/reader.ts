// Typed, path-aware access to decoded plugin_data. Every problem is collected
// (not just the first) and names its key path, e.g.
// `registry["ghcr.io"].ca_file: must be a string`; keys nobody read are
// reported as unknown, so a typo never silently turns a check off.

import type { HclObject, HclValue } from './hcl-output.js';

function describe(value: HclValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a block';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export class ConfigReader {
  readonly #obj: HclObject;
  readonly #path: string;
  readonly #problems: string[];
  readonly #used = new Set<string>();

  constructor(obj: HclObject, path: string, problems: string[]) {
    this.#obj = obj;
    this.#path = path;
    this.#problems = problems;
  }

  keyPath(key: string): string {
    if (key === '') return this.#path;
    return this.#path === '' ? key : `${this.#path}.${key}`;
  }

  problem(key: string, message: string): void {
    this.#problems.push(`${this.keyPath(key)}: ${message}`);
  }

  #take(key: string): HclValue | undefined {
    this.#used.add(key);
    return this.#obj[key];
  }

  has(key: string): boolean {
    return key in this.#obj;
  }

  string(key: string): string | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      this.problem(key, `must be a string, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') {
      this.problem(key, `must be true or false, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  integer(key: string, min: number, max: number): number | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.problem(key, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    const match = allowed.find((candidate) => candidate === value);
    if (match === undefined) this.problem(key, `must be one of ${allowed.join(', ')}, got "${value}"`);
    return match;
  }

  stringList(key: string): string[] | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
      this.problem(key, `must be a list of strings, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  // `key { ... }` blocks; HCL v1 decodes each as an object in a list.
  blocks(key: string): ConfigReader[] {
    const value = this.#take(key);
    if (value === undefined) return [];
    const items = Array.isArray(value) ? value : [value];
    const readers: ConfigReader[] = [];
    items.forEach((item, index) => {
      const path = items.length > 1 ? `${this.keyPath(key)}[${index}]` : this.keyPath(key);
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        this.#problems.push(`${path}: must be a block, got ${describe(item)}`);
        return;
      }
      readers.push(new ConfigReader(item, path, this.#problems));
    });
    return readers;
  }

  // `key "label" { ... }` blocks; HCL v1 decodes them as [{label: [{...}]}].
  labeledBlocks(key: string): { label: string; reader: ConfigReader }[] {
    const out: { label: string; reader: ConfigReader }[] = [];
    for (const outer of this.blocks(key)) {
      for (const label of outer.#keys()) {
        outer.#used.add(label);
        const path = `${this.keyPath(key)}["${label}"]`;
        const inner = outer.#obj[label];
        const items = Array.isArray(inner) ? inner : [inner];
        for (const item of items) {
          if (item === null || item === undefined || typeof item !== 'object' || Array.isArray(item)) {
            this.#problems.push(`${path}: must be a block`);
            continue;
          }
          out.push({ label, reader: new ConfigReader(item, path, this.#problems) });
        }
      }
    }
    return out;
  }

  keys(): string[] {
    return Object.keys(this.#obj);
  }

  #keys(): string[] {
    return this.keys();
  }

  // Report keys that no accessor asked for.
  finish(): void {
    for (const key of this.#keys()) {
      if (!this.#used.has(key)) this.#problems.push(`${this.keyPath(key)}: unknown configuration key`);
    }
  }
}
