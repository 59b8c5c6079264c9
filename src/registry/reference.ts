// Image references in Docker's grammar:
//
//   [registry/]path[/path…][:tag][@algorithm:hex]
//
// The first path component is a registry when it contains "." or ":", is
// "localhost", or has uppercase letters (repository paths are lowercase, so
// it cannot be one); otherwise the registry is docker.io, and a one-component
// name there gets the "library/" prefix. Podman's "localhost/name:tag" thus
// stays on registry "localhost". Pure functions, no I/O.

import { AttestorError } from '../errors.js';
import { isDigest } from '../util/digest.js';

import type { Digest, ImageReference } from './types.js';

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_WIRE_HOST = 'registry-1.docker.io';
// Names Docker Hub goes by in references and configs.
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

// Docker's limit on the whole name (registry and path, without tag/digest).
const NAME_MAX_LENGTH = 255;
// Longer input cannot be a valid reference; refuse before any regex work.
const INPUT_MAX_LENGTH = 1024;

const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const REGISTRY_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;

function invalid(text: string, why: string): AttestorError {
  return new AttestorError('REFERENCE_INVALID', `invalid image reference ${JSON.stringify(text)}: ${why}`);
}

function looksLikeRegistry(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component !== component.toLowerCase();
}

export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_ALIASES.has(registry);
}

export function parseReference(text: string): ImageReference {
  if (text.length === 0) throw invalid(text, 'empty');
  if (text.length > INPUT_MAX_LENGTH) throw invalid(text.slice(0, 64) + '…', 'too long');
  if (/[\s\u0000-\u001f\u007f]/.test(text)) throw invalid(text, 'contains whitespace or control characters');

  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw invalid(text, `digest ${JSON.stringify(d)} is not sha256:<64 hex> or sha512:<128 hex>`);
    digest = d;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    const t = rest.slice(colon + 1);
    if (!TAG_RE.test(t)) throw invalid(text, `tag ${JSON.stringify(t)} is not valid`);
    tag = t;
    rest = rest.slice(0, colon);
  }
  if (rest.length === 0) throw invalid(text, 'no repository name');
  if (/^[a-f0-9]{64}$/.test(rest) && tag === undefined && digest === undefined) {
    throw invalid(text, 'a 64-character hex string is an image ID, not a reference');
  }

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash !== -1 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    path = rest.slice(slash + 1);
    if (!REGISTRY_RE.test(registry)) throw invalid(text, `registry ${JSON.stringify(registry)} is not a valid host[:port]`);
    if (registry === 'index.docker.io') registry = DOCKER_HUB;
  }
  if (path.length === 0) throw invalid(text, 'no repository name');
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT_RE.test(component)) {
      const why = component !== component.toLowerCase() ? 'repository names must be lowercase' : 'invalid path component';
      throw invalid(text, `${why}: ${JSON.stringify(component)}`);
    }
  }
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (registry.length + 1 + path.length > NAME_MAX_LENGTH) throw invalid(text, `name longer than ${NAME_MAX_LENGTH} characters`);

  return {
    registry,
    repository: path,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    original: text,
  };
}

// The host[:port] to connect to for a registry as written in references.
export function registryHost(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_WIRE_HOST : registry;
}

// A Docker `RepoDigests` entry ("name@sha256:…", no tag) as a reference.
export function repoDigestOf(repoDigest: string): ImageReference & { readonly digest: Digest } {
  const ref = parseReference(repoDigest);
  if (ref.digest === undefined) throw invalid(repoDigest, 'a repo digest needs @<digest>');
  if (ref.tag !== undefined) throw invalid(repoDigest, 'a repo digest has no tag');
  return { ...ref, digest: ref.digest };
}

// registry/repository[:tag][@digest], fully qualified (for messages and logs).
export function formatReference(ref: ImageReference): string {
  let out = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

// What the distribution API addresses a manifest by: the digest when the
// reference pins one (it wins over the tag), else the tag, else "latest".
export function manifestReferenceOf(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}
