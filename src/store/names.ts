import { UserError } from '../errors.js';

/**
 * The one check every name argument passes before it reaches a path, a RegExp, a label filter or a
 * URL. Machine names are RFC 1123 host names (they become the machine's hostname): dot-separated
 * labels of letters, digits and "-", none empty, none starting or ending with "-", 63 characters in
 * all (a Linux hostname's limit). Cluster names are one lowercase label of at most 40 characters, so
 * that `<cluster>-manager-N` is still a valid machine name and a valid cloud resource name.
 */
export type NameKind = 'machine' | 'cluster';

const LABEL = '[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?';
const MACHINE_RE = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const CLUSTER_RE = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

const RULES: Record<NameKind, { test: (n: string) => boolean; rule: string }> = {
  machine: {
    test: (n) => n.length <= 63 && MACHINE_RE.test(n),
    rule: 'use 1-63 letters, digits, "-" and ".", as a host name: no empty part between dots, no part starting or ending with "-"',
  },
  cluster: {
    test: (n) => CLUSTER_RE.test(n),
    rule: 'use 1-40 lowercase letters, digits and "-", starting and ending with a letter or digit',
  },
};

/** Show a name in an error without letting control characters or megabytes through. */
function shown(name: string): string {
  const s = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  return s.slice(1, -1);
}

export function isValidName(kind: NameKind, name: unknown): name is string {
  return typeof name === 'string' && RULES[kind].test(name);
}

export function validateName(kind: NameKind, name: unknown): string {
  if (!isValidName(kind, name)) {
    throw new UserError(`Invalid ${kind} name "${shown(String(name))}": ${RULES[kind].rule}`);
  }
  return name;
}

export const validateMachineName = (name: string): void => void validateName('machine', name);
export const validateClusterName = (name: string): void => void validateName('cluster', name);
