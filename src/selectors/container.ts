// Container facts -> SPIRE docker-attestor-compatible selector values.

import { selector, SELECTOR } from './names.js';

// What the container selectors are made of (a runtime's container facts).
export interface ContainerSelectorInput {
  // Config.Image; '' when the runtime reports none.
  readonly imageRef: string;
  // The image ID (config digest) the container runs.
  readonly imageId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env: readonly string[];
}

export interface ContainerSelectorOptions {
  // Only these variables become `env:` selectors: environments hold secrets.
  readonly envSelectors: readonly string[];
}

export function containerSelectors(container: ContainerSelectorInput, options: ContainerSelectorOptions): string[] {
  const out: string[] = [];
  if (container.imageRef !== '') out.push(selector(SELECTOR.imageId, container.imageRef));
  out.push(selector(SELECTOR.imageConfigDigest, container.imageId));
  for (const [key, value] of Object.entries(container.labels)) {
    out.push(selector(SELECTOR.label, `${key}:${value}`));
  }
  if (options.envSelectors.length > 0) {
    const wanted = new Set(options.envSelectors);
    for (const entry of container.env) {
      const eq = entry.indexOf('=');
      const name = eq < 0 ? entry : entry.slice(0, eq);
      if (wanted.has(name)) out.push(selector(SELECTOR.env, entry));
    }
  }
  return out;
}
