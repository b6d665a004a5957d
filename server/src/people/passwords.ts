import { hash, verify } from '@node-rs/argon2';

export const MIN_PASSWORD_LENGTH = 8;

/** argon2id with the library's defaults (memory-hard; the OWASP-recommended variant). */
export const hashPassword = (password: string): Promise<string> => hash(password);

// Verified against when the login does not exist, so the response time does not reveal it.
const unknownUserHash = hashPassword('kartoteka-unknown-user');

export async function passwordMatches(passwordHash: string | undefined, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash ?? (await unknownUserHash), password);
  } catch {
    return false;
  }
}
