import { UserError } from '../../src/errors.js';

/** The special characters Aliyun allows in an instance password (CreateInstance's `Password`). */
export const PASSWORD_SPECIALS = "()`~!@#$%^&*-_+=|{}[]:;'<>,.?/";

const RULE = `8 to 30 characters, with at least three of: upper case letters, lower case letters, digits, and the special characters ${PASSWORD_SPECIALS}`;

/**
 * Check an instance password against Aliyun's rules before any call, so a bad one fails in one line
 * (the password itself is never shown): 8-30 characters, only letters, digits and PASSWORD_SPECIALS,
 * and three of the four kinds.
 */
export function checkInstancePassword(pw: string): void {
  const bad = (why: string) =>
    new UserError(`invalid --aliyunecs-ssh-password (ECS_SSH_PASSWORD): ${why}; Aliyun needs ${RULE}`);
  if (pw.length < 8 || pw.length > 30) throw bad(`it has ${pw.length} characters`);
  const other = [...pw].find((c) => !/[A-Za-z0-9]/.test(c) && !PASSWORD_SPECIALS.includes(c));
  if (other !== undefined) {
    throw bad(
      other.trim() ? 'it has a character Aliyun does not allow' : 'it has a space or control character',
    );
  }
  const kinds = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(pw)).length;
  if (kinds < 3) throw bad(`it has ${kinds} of the four kinds of characters`);
}
