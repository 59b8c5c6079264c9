// What a verified SLSA provenance predicate says about the build: the
// builder, the build type, and the source it was built from. Read strictly
// from the (already verified) statement's predicate: a field that is not
// there, or not the shape SLSA defines, is simply absent, so a requirement on
// it does not hold. Nothing here decides trust; the policy compares.
//
// Where each field lives (SLSA provenance v0.2 and v1):
//   builder id    v0.2 builder.id                  v1 runDetails.builder.id
//   build type    v0.2 buildType                   v1 buildDefinition.buildType
//   source uri    v0.2 invocation.configSource.uri v1 resolvedDependencies[0].uri
//   source digest v0.2 invocation.configSource.digest, v1 resolvedDependencies[0].digest
// For GitHub-built v1 provenance the workflow in externalParameters names the
// source too (git+<repository>@<ref>); when both are there they must agree,
// else the source is unknown (absent). A key spelled in another case than
// SLSA's (Go would read it) makes the attestation malformed.

import { field, isJsonObject } from './json.js';

import type { JsonObject, JsonValue } from './json.js';

export const SLSA_PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const SLSA_PREDICATE_TYPES: readonly string[] = [SLSA_PROVENANCE_V02, SLSA_PROVENANCE_V1];

// Build types whose externalParameters.workflow is GitHub's {repository, ref, path}.
const GITHUB_BUILD_TYPES: readonly string[] = [
  'https://actions.github.io/buildtypes/workflow/v1',
  'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
];

export interface Provenance {
  readonly builderId?: string;
  readonly buildType?: string;
  readonly sourceUri?: string;
  // `<algorithm>:<value>` for each digest of the source, sorted.
  readonly sourceDigests: readonly string[];
}

export function isSlsaProvenance(predicateType: string): boolean {
  return SLSA_PREDICATE_TYPES.includes(predicateType);
}

// The provenance fields of a SLSA predicate; undefined for other types.
export function readProvenance(predicateType: string, predicate: JsonValue | undefined): Provenance | undefined {
  if (!isSlsaProvenance(predicateType)) return undefined;
  const p = objectOr(predicate);
  return predicateType === SLSA_PROVENANCE_V02 ? readV02(p) : readV1(p);
}

function readV02(p: JsonObject): Provenance {
  const source = objectOr(get(objectOr(get(p, 'invocation')), 'configSource'));
  return compact({
    builderId: text(get(objectOr(get(p, 'builder')), 'id')),
    buildType: text(get(p, 'buildType')),
    sourceUri: text(get(source, 'uri')),
    sourceDigests: digests(get(source, 'digest')),
  });
}

function readV1(p: JsonObject): Provenance {
  const definition = objectOr(get(p, 'buildDefinition'));
  const buildType = text(get(definition, 'buildType'));
  const dependencies = get(definition, 'resolvedDependencies');
  const first = Array.isArray(dependencies) ? objectOr((dependencies as readonly JsonValue[])[0]) : {};
  const dependencyUri = text(get(first, 'uri'));
  const workflowUri =
    buildType !== undefined && GITHUB_BUILD_TYPES.includes(buildType) ? githubWorkflowUri(objectOr(get(definition, 'externalParameters'))) : undefined;
  // Two statements of the source that disagree name no source at all.
  const sourceUri = dependencyUri !== undefined && workflowUri !== undefined && dependencyUri !== workflowUri ? undefined : (dependencyUri ?? workflowUri);
  return compact({
    builderId: text(get(objectOr(get(objectOr(get(p, 'runDetails')), 'builder')), 'id')),
    buildType,
    sourceUri,
    sourceDigests: sourceUri !== undefined && dependencyUri === sourceUri ? digests(get(first, 'digest')) : [],
  });
}

// externalParameters.workflow {repository: "https://github.com/o/r", ref: "refs/heads/main"}
// -> git+https://github.com/o/r@refs/heads/main, the form GitHub writes in
// resolvedDependencies.
function githubWorkflowUri(external: JsonObject): string | undefined {
  const workflow = objectOr(get(external, 'workflow'));
  const repository = text(get(workflow, 'repository'));
  const ref = text(get(workflow, 'ref'));
  return repository !== undefined && ref !== undefined ? `git+${repository}@${ref}` : undefined;
}

// A DigestSet {alg: value}: each as `alg:value`, both non-empty, no colon
// in the algorithm (it would make the selector ambiguous).
function digests(value: JsonValue | undefined): string[] {
  const set = objectOr(value);
  return Object.entries(set)
    .flatMap(([alg, v]) => (typeof v === 'string' && v !== '' && alg !== '' && !alg.includes(':') ? [`${alg}:${v}`] : []))
    .sort();
}

function compact(p: { builderId: string | undefined; buildType: string | undefined; sourceUri: string | undefined; sourceDigests: string[] }): Provenance {
  return Object.freeze({
    ...(p.builderId !== undefined ? { builderId: p.builderId } : {}),
    ...(p.buildType !== undefined ? { buildType: p.buildType } : {}),
    ...(p.sourceUri !== undefined ? { sourceUri: p.sourceUri } : {}),
    sourceDigests: Object.freeze(p.sourceDigests),
  });
}

// A key as Go's encoding/json reads it: a key that differs only by case is
// refused (SIGNATURE_MALFORMED), never silently skipped.
function get(obj: JsonObject, name: string): JsonValue | undefined {
  return field(obj, name, 'provenance predicate');
}

function objectOr(value: JsonValue | undefined): JsonObject {
  return isJsonObject(value) ? value : {};
}

function text(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
