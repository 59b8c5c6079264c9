// readProvenance: what a (verified) SLSA provenance predicate says about the
// build. Fields not there, or not the shape SLSA defines, are absent; a key
// spelled in another case is malformed; other predicate types have none.

import { describe, expect, it } from 'vitest';

import { SignatureError } from '../../../src/verify/errors.js';
import { SLSA_PREDICATE_TYPES, readProvenance } from '../../../src/verify/provenance.js';
import { thrown } from '../../support/errors.js';
import {
  BUILDER_ID,
  COMMIT,
  COSIGN_SIGN,
  GITHUB_WORKFLOW_BUILD_TYPE,
  REF,
  REPOSITORY,
  SLSA_V02,
  SLSA_V1,
  SOURCE_URI,
  V02_BUILD_TYPE,
  slsaV02Predicate,
  slsaV1Predicate,
} from './support/attest.js';

import type { JsonValue } from '../../../src/verify/json.js';

const SLSA_GITHUB_BUILD_TYPE = 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1';
const OTHER_BUILD_TYPE = 'https://example.com/buildtypes/make/v1';

// A predicate object as the verifier hands it over (parsed JSON).
const json = (value: unknown): JsonValue => JSON.parse(JSON.stringify(value)) as JsonValue;
const v1 = (o: Parameters<typeof slsaV1Predicate>[0] = {}): JsonValue => json(slsaV1Predicate(o));

function malformed(fn: () => unknown, key: RegExp): void {
  const err = thrown(fn, SignatureError);
  expect(err.code).toBe('SIGNATURE_MALFORMED');
  expect(err.message).toMatch(key);
}

describe('readProvenance', () => {
  it('knows exactly SLSA provenance v0.2 and v1', () => {
    expect(SLSA_PREDICATE_TYPES).toEqual([SLSA_V02, SLSA_V1]);
  });

  it('reads SLSA v0.2: builder.id, buildType, invocation.configSource uri and digest', () => {
    expect(readProvenance(SLSA_V02, json(slsaV02Predicate()))).toEqual({
      builderId: BUILDER_ID,
      buildType: V02_BUILD_TYPE,
      sourceUri: SOURCE_URI,
      sourceDigests: [`sha1:${COMMIT}`],
    });
  });

  it('reads SLSA v1: runDetails.builder.id, buildDefinition.buildType, resolvedDependencies[0]', () => {
    expect(readProvenance(SLSA_V1, v1({ buildType: OTHER_BUILD_TYPE }))).toEqual({
      builderId: BUILDER_ID,
      buildType: OTHER_BUILD_TYPE,
      sourceUri: SOURCE_URI,
      sourceDigests: [`gitCommit:${COMMIT}`],
    });
  });

  it('does not read one version in the shape of the other', () => {
    expect(readProvenance(SLSA_V1, json(slsaV02Predicate()))).toEqual({ sourceDigests: [] });
    expect(readProvenance(SLSA_V02, v1())).toEqual({ sourceDigests: [] });
  });

  it('the result is frozen', () => {
    const p = readProvenance(SLSA_V1, v1());
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p?.sourceDigests)).toBe(true);
  });

  describe.each([GITHUB_WORKFLOW_BUILD_TYPE, SLSA_GITHUB_BUILD_TYPE])('GitHub build type %s', (buildType) => {
    it('a workflow that agrees with resolvedDependencies[0]: the source and its digests', () => {
      expect(readProvenance(SLSA_V1, v1({ buildType }))).toEqual({
        builderId: BUILDER_ID,
        buildType,
        sourceUri: `git+${REPOSITORY}@${REF}`,
        sourceDigests: [`gitCommit:${COMMIT}`],
      });
    });

    it.each<[string, object]>([
      ['another repository', { repository: 'https://github.com/evil/app', ref: REF, path: '.github/workflows/release.yml' }],
      ['another ref', { repository: REPOSITORY, ref: 'refs/heads/evil', path: '.github/workflows/release.yml' }],
    ])('a workflow naming %s than resolvedDependencies[0]: no source, no digests', (_what, workflow) => {
      expect(readProvenance(SLSA_V1, v1({ buildType, workflow }))).toEqual({ builderId: BUILDER_ID, buildType, sourceDigests: [] });
    });

    it('only the workflow (no resolvedDependencies): the source from it, no digests', () => {
      expect(readProvenance(SLSA_V1, v1({ buildType, resolvedDependencies: null }))).toEqual({
        builderId: BUILDER_ID,
        buildType,
        sourceUri: SOURCE_URI,
        sourceDigests: [],
      });
      expect(readProvenance(SLSA_V1, v1({ buildType, resolvedDependencies: [] }))?.sourceUri).toBe(SOURCE_URI);
    });

    it('only resolvedDependencies (no workflow): the source and digests from it', () => {
      expect(readProvenance(SLSA_V1, v1({ buildType, workflow: null }))).toMatchObject({ sourceUri: SOURCE_URI, sourceDigests: [`gitCommit:${COMMIT}`] });
    });

    it('a workflow missing its ref or repository, or not strings, names no source of its own', () => {
      for (const workflow of [{ repository: REPOSITORY }, { ref: REF }, { repository: 42, ref: REF }, { repository: REPOSITORY, ref: '' }]) {
        expect(readProvenance(SLSA_V1, v1({ buildType, workflow, resolvedDependencies: null }))).toEqual({
          builderId: BUILDER_ID,
          buildType,
          sourceDigests: [],
        });
        // ...and so cannot disagree with the dependency.
        expect(readProvenance(SLSA_V1, v1({ buildType, workflow }))?.sourceUri).toBe(SOURCE_URI);
      }
    });
  });

  it('a build type that is not GitHub’s: externalParameters.workflow is not read', () => {
    const workflow = { repository: 'https://github.com/evil/app', ref: 'refs/heads/evil', path: 'x' };
    expect(readProvenance(SLSA_V1, v1({ buildType: OTHER_BUILD_TYPE, workflow }))).toMatchObject({
      sourceUri: SOURCE_URI,
      sourceDigests: [`gitCommit:${COMMIT}`],
    });
    expect(readProvenance(SLSA_V1, v1({ buildType: OTHER_BUILD_TYPE, resolvedDependencies: null }))).toEqual({
      builderId: BUILDER_ID,
      buildType: OTHER_BUILD_TYPE,
      sourceDigests: [],
    });
  });

  it('only the first resolved dependency is the source', () => {
    const deps = [
      { uri: 'git+https://github.com/acme/lib@refs/heads/main', digest: { gitCommit: 'aaaa' } },
      { uri: SOURCE_URI, digest: { gitCommit: COMMIT } },
    ];
    expect(readProvenance(SLSA_V1, v1({ buildType: OTHER_BUILD_TYPE, resolvedDependencies: deps }))).toMatchObject({
      sourceUri: 'git+https://github.com/acme/lib@refs/heads/main',
      sourceDigests: ['gitCommit:aaaa'],
    });
    // For GitHub, that first one disagrees with the workflow: no source.
    expect(readProvenance(SLSA_V1, v1({ resolvedDependencies: deps }))).toEqual({
      builderId: BUILDER_ID,
      buildType: GITHUB_WORKFLOW_BUILD_TYPE,
      sourceDigests: [],
    });
  });

  it('digests: each `alg:value`, sorted; empty, non-string or colon-named ones left out', () => {
    const digest = { sha512: 'ff', gitCommit: COMMIT, sha256: 'ee', 'odd:alg': 'x', '': 'y', empty: '', number: 7, obj: {} };
    expect(readProvenance(SLSA_V1, v1({ buildType: OTHER_BUILD_TYPE, resolvedDependencies: [{ uri: SOURCE_URI, digest }] }))?.sourceDigests).toEqual([
      `gitCommit:${COMMIT}`,
      'sha256:ee',
      'sha512:ff',
    ]);
    expect(readProvenance(SLSA_V02, json(slsaV02Predicate({ sha1: '' })))?.sourceDigests).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['an array', [1, 2]],
    ['a string', 'provenance'],
    ['an empty object', {}],
  ])('a predicate that is %s: every field absent', (_what, predicate) => {
    for (const type of [SLSA_V02, SLSA_V1]) {
      expect(readProvenance(type, predicate === undefined ? undefined : json(predicate))).toEqual({ sourceDigests: [] });
    }
  });

  it('non-string, empty or misplaced fields are absent (v1)', () => {
    const predicate = {
      buildDefinition: { buildType: 7, externalParameters: { workflow: 'x' }, resolvedDependencies: [{ uri: { href: SOURCE_URI }, digest: 'abc' }] },
      runDetails: { builder: { id: '' } },
    };
    expect(readProvenance(SLSA_V1, json(predicate))).toEqual({ sourceDigests: [] });
    expect(readProvenance(SLSA_V1, json({ buildDefinition: { resolvedDependencies: { 0: { uri: SOURCE_URI } } }, runDetails: { builder: 'x' } }))).toEqual({
      sourceDigests: [],
    });
    expect(readProvenance(SLSA_V1, json({ buildDefinition: { resolvedDependencies: ['x'] }, runDetails: [] }))).toEqual({ sourceDigests: [] });
    // A digest without a uri is no source digest.
    expect(readProvenance(SLSA_V1, json({ buildDefinition: { buildType: OTHER_BUILD_TYPE, resolvedDependencies: [{ digest: { sha1: 'a' } }] } }))).toEqual({
      buildType: OTHER_BUILD_TYPE,
      sourceDigests: [],
    });
  });

  it('non-string, empty or misplaced fields are absent (v0.2)', () => {
    const predicate = { builder: { id: null }, buildType: ['t'], invocation: { configSource: { uri: 42, digest: { sha1: COMMIT } } } };
    expect(readProvenance(SLSA_V02, json(predicate))).toEqual({ sourceDigests: [`sha1:${COMMIT}`] });
    expect(readProvenance(SLSA_V02, json({ builder: BUILDER_ID, invocation: { configSource: 'x' } }))).toEqual({ sourceDigests: [] });
  });

  it.each<[string, string, unknown, RegExp]>([
    ['v0.2 "Builder"', SLSA_V02, { Builder: { id: BUILDER_ID } }, /"Builder"/],
    ['v0.2 "ID"', SLSA_V02, { builder: { ID: BUILDER_ID } }, /"ID"/],
    ['v0.2 "BuildType"', SLSA_V02, { BuildType: 'x' }, /"BuildType"/],
    ['v0.2 "configsource"', SLSA_V02, { invocation: { configsource: {} } }, /"configsource"/],
    ['v1 "RunDetails"', SLSA_V1, { RunDetails: { builder: { id: BUILDER_ID } } }, /"RunDetails"/],
    ['v1 "Builder"', SLSA_V1, { runDetails: { Builder: { id: BUILDER_ID } } }, /"Builder"/],
    ['v1 "buildtype"', SLSA_V1, { buildDefinition: { buildtype: 'x' } }, /"buildtype"/],
    ['v1 "URI"', SLSA_V1, { buildDefinition: { resolvedDependencies: [{ URI: SOURCE_URI }] } }, /"URI"/],
    ['v1 "Workflow"', SLSA_V1, { buildDefinition: { buildType: GITHUB_WORKFLOW_BUILD_TYPE, externalParameters: { Workflow: {} } } }, /"Workflow"/],
    // U+017F LATIN SMALL LETTER LONG S folds to "s", as Go's EqualFold has it.
    ['v1 long-s "re\u017FolvedDependencies"', SLSA_V1, { buildDefinition: { ['re\u017FolvedDependencies']: [] } }, /re\u017FolvedDependencies/],
    ['v0.2 long-s "config\u017Fource"', SLSA_V02, { invocation: { ['config\u017Fource']: {} } }, /config\u017Fource/],
  ])('a key differing only by case (%s) is malformed', (_what, type, predicate, key) => {
    malformed(() => readProvenance(type, json(predicate)), key);
  });

  it.each([
    COSIGN_SIGN,
    'https://example.com/custom/v1',
    'https://slsa.dev/provenance/v1.0',
    'https://slsa.dev/provenance/V1',
    'https://slsa.dev/provenance/v0.1',
    '',
  ])('a predicate type that is not SLSA v0.2 or v1 (%j) has no provenance, whatever it says', (type) => {
    expect(readProvenance(type, v1())).toBeUndefined();
    // Not even read: a case-variant key is no concern of other types.
    expect(readProvenance(type, json({ Builder: { id: 'x' } }))).toBeUndefined();
  });
});
