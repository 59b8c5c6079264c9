// What a verified Fulcio leaf certificate says about its signer, and the
// certificate checks cosign makes that @sigstore/verify does not (EKU).

import { ASN1Obj } from '@sigstore/core';

import { CLAIMS, OID_ISSUER_V1, OID_ISSUER_V2, OID_OTHERNAME_SAN } from './claims.js';
import { SignatureError, messageOf } from './errors.js';

import type { X509Certificate } from '@sigstore/core';
import type { Signer } from './types.js';

const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const ASN1_UTF8_STRING = 0x0c;

// cosign and sigstore-go verify the chain with KeyUsages=[CodeSigning]; the
// leaf must say it may sign code.
export function checkCodeSigning(leaf: X509Certificate): void {
  const ext = leaf.extension(OID_EXT_KEY_USAGE);
  if (ext === undefined) {
    throw new SignatureError('CERTIFICATE_INVALID', 'signing certificate has no extended key usage (codeSigning required)');
  }
  let usages: string[];
  try {
    usages = parseDer(ext.value).subs.map((sub) => sub.toOID());
  } catch (err) {
    throw new SignatureError('CERTIFICATE_INVALID', `signing certificate has a malformed extended key usage: ${messageOf(err)}`);
  }
  if (!usages.includes(OID_EKU_CODE_SIGNING)) {
    throw new SignatureError('CERTIFICATE_INVALID', `signing certificate is not for code signing (extended key usages: ${usages.join(', ') || 'none'})`);
  }
}

// The keyless signer: the SAN sigstore-go would pick (first URI, else first
// email, else the Fulcio otherName username), the OIDC issuer (.1.8, else
// .1.1), and every claim of CLAIMS present in the certificate.
export function keylessSigner(leaf: X509Certificate): Extract<Signer, { kind: 'keyless' }> {
  const subject = subjectOf(leaf);
  if (subject === undefined || subject === '') {
    throw new SignatureError('CERTIFICATE_INVALID', 'signing certificate has no URI, email or Fulcio username SAN');
  }
  const issuer = extensionText(leaf, OID_ISSUER_V2) ?? rawExtensionText(leaf, OID_ISSUER_V1);
  if (issuer === undefined || issuer === '') {
    throw new SignatureError('CERTIFICATE_INVALID', 'signing certificate names no OIDC issuer (Fulcio extension .1.8 or .1.1)');
  }
  const claims: Record<string, string> = {};
  for (const [name, spec] of Object.entries(CLAIMS)) {
    const value = extensionText(leaf, spec.oid) ?? (spec.legacyOid === undefined ? undefined : rawExtensionText(leaf, spec.legacyOid));
    if (value !== undefined) claims[name] = value;
  }
  return Object.freeze({ kind: 'keyless', subject, issuer, claims: Object.freeze(claims) });
}

function subjectOf(leaf: X509Certificate): string | undefined {
  try {
    const san = leaf.extSubjectAltName;
    return san?.uri ?? san?.rfc822Name ?? san?.otherName(OID_OTHERNAME_SAN);
  } catch (err) {
    throw new SignatureError('CERTIFICATE_INVALID', `signing certificate has a malformed SAN: ${messageOf(err)}`);
  }
}

// A Fulcio .1.8+ extension: the extnValue holds a DER UTF8String.
function extensionText(leaf: X509Certificate, oid: string): string | undefined {
  const ext = leaf.extension(oid);
  if (ext === undefined) return undefined;
  let value: ASN1Obj;
  try {
    value = parseDer(ext.value);
  } catch (err) {
    throw new SignatureError('CERTIFICATE_INVALID', `certificate extension ${oid} is not DER: ${messageOf(err)}`);
  }
  if (value.tag.number !== ASN1_UTF8_STRING || value.tag.constructed || !value.tag.isUniversal()) {
    throw new SignatureError('CERTIFICATE_INVALID', `certificate extension ${oid} is not a UTF8String`);
  }
  return decodeUtf8(value.value, oid);
}

// A deprecated Fulcio .1.1-.1.6 extension: the extnValue is the raw string.
function rawExtensionText(leaf: X509Certificate, oid: string): string | undefined {
  const ext = leaf.extension(oid);
  return ext === undefined ? undefined : decodeUtf8(ext.value, oid);
}

function decodeUtf8(bytes: Uint8Array, oid: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SignatureError('CERTIFICATE_INVALID', `certificate extension ${oid} is not valid UTF-8`);
  }
}

function parseDer(bytes: Uint8Array): ASN1Obj {
  return ASN1Obj.parseBuffer(Buffer.from(bytes));
}
