// containerd's identifier rule (namespaces, container IDs): alphanumerics
// joined by single '.', '_' or '-', at most 76 characters. Anything that
// passes is safe as a path component and as a quoted filter value.

const IDENTIFIER = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
export const MAX_IDENTIFIER_LENGTH = 76;

export function isContainerdIdentifier(value: string): boolean {
  return value.length <= MAX_IDENTIFIER_LENGTH && IDENTIFIER.test(value);
}
