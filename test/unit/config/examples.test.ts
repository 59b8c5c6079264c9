// Every plugin_data example under conf/ is valid configuration.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildConfig } from '../../../src/config/build.js';
import { REPO_ROOT } from '../../support/plugin-process.js';

const dir = join(REPO_ROOT, 'conf/examples');

describe('conf/examples', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.hcl'))) {
    it(`${file} is valid plugin_data`, () => {
      expect(() => buildConfig(readFileSync(join(dir, file), 'utf8'))).not.toThrow();
    });
  }
});
