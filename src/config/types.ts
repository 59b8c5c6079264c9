// What buildConfig produces. The shapes live with their consumers (the
// attestor, the policy, verification); this module only names them for
// config/ and its callers.

export { BINDING_MODES, SIGNER_SELECTOR_MODES } from '../attest/types.js';
export type {
  BindingMode,
  PluginConfig,
  RegistryConfig,
  RegistryEntry,
  RuntimeEndpoints,
  SignaturePolicyConfig,
  SignerSelectorMode,
  VerdictSettings,
} from '../attest/types.js';
export type { AttestationRule, IdentityRule } from '../policy/types.js';
export type { KeyRule } from '../verify/types.js';
export type { TufSettings } from '../verify/tuf.js';
export type { TrustRootSpec } from '../verify/trust-roots.js';
