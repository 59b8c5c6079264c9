// The registry client's public surface.

export { createRegistryClient } from './client.js';
export type { RegistryClient } from './client.js';
export type { RegistryClientOptions, RegistrySettings } from './options.js';
export { formatReference, parseReference, registryHost, repoDigestOf } from './reference.js';
export { nodePlatform, parseManifest, selectPlatform } from './manifest.js';
export { computeDigest, isDigest } from '../util/digest.js';
export type { PingResult } from './auth.js';
export type * from './types.js';
export { MEDIA_TYPE } from './types.js';
