// Fulcio certificate claims by the names used in policy and selectors.
// OIDs: https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md
// Extensions 1.3.6.1.4.1.57264.1.8 and later hold a DER UTF8String; the
// deprecated 1.3.6.1.4.1.57264.1.1 to .1.6 hold the raw string. `legacyOid`
// is read only when a certificate lacks `oid` (GitHub certificates issued
// before the .1.8+ extensions existed carry the same value there).

export interface ClaimSpec {
  readonly oid: string;
  readonly legacyOid?: string;
}

const FULCIO = '1.3.6.1.4.1.57264.1';

export const OID_ISSUER_V1 = `${FULCIO}.1`;
export const OID_ISSUER_V2 = `${FULCIO}.8`;
export const OID_OTHERNAME_SAN = `${FULCIO}.7`;

export const CLAIMS: Readonly<Record<string, ClaimSpec>> = Object.freeze({
  build_signer_uri: { oid: `${FULCIO}.9` },
  build_signer_digest: { oid: `${FULCIO}.10` },
  runner_environment: { oid: `${FULCIO}.11` },
  source_repository_uri: { oid: `${FULCIO}.12` },
  source_repository_digest: { oid: `${FULCIO}.13`, legacyOid: `${FULCIO}.3` },
  source_repository_ref: { oid: `${FULCIO}.14`, legacyOid: `${FULCIO}.6` },
  source_repository_identifier: { oid: `${FULCIO}.15` },
  source_repository_owner_uri: { oid: `${FULCIO}.16` },
  source_repository_owner_identifier: { oid: `${FULCIO}.17` },
  build_config_uri: { oid: `${FULCIO}.18` },
  build_config_digest: { oid: `${FULCIO}.19` },
  build_trigger: { oid: `${FULCIO}.20`, legacyOid: `${FULCIO}.2` },
  run_invocation_uri: { oid: `${FULCIO}.21` },
  source_repository_visibility_at_signing: { oid: `${FULCIO}.22` },
  deployment_environment: { oid: `${FULCIO}.23` },
});

export function isClaimName(name: string): boolean {
  return Object.hasOwn(CLAIMS, name);
}
