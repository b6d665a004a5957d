import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';
import pLimit, { type LimitFunction } from 'p-limit';

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

/** Sign-in checks that may wait for a place, per place (each check is ~150 ms of one core's time). */
const WAITING_PER_CHECK = 4;

let signInChecks: LimitFunction = pLimit(availableParallelism());
/** How long a sign-in's password check took lately (a moving average), to say when to try again. */
let recentCheckMs = 150;

/** How many sign-in password checks this process runs at once (SIGN_IN_CHECKS_AT_ONCE; the core count by default). */
export function setSignInChecksAtOnce(atOnce: number): void {
  signInChecks = pLimit(atOnce);
}

/** A sign-in refused before its password was checked: too many strangers' checks are waiting already. */
export class SignInChecksBusy extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('too many sign-in password checks waiting');
  }
}

/**
 * Checks a sign-in's password (an unknown login's against a stand-in hash, at the same cost) in
 * turn with every other sign-in of this process: at most `SIGN_IN_CHECKS_AT_ONCE` run at once and a
 * few per place wait, so a flood of anonymous sign-ins from many addresses cannot take the cores from
 * signed-in users' requests (s12 attack A11). Past that short line an attempt is refused unchecked —
 * unless `known` says it comes from a browser or an address whose last attempt at its login signed
 * in: those wait their turn, so a stranger's flood never shuts the owner out, and a browser that just
 * failed (or one of an account holder's minted devices, once it guessed) does not jump the line.
 */
export async function signInPasswordMatches(passwordHash: string | undefined, password: string, known: () => Promise<boolean>): Promise<boolean> {
  const line = signInChecks;
  const queued = line.activeCount + line.pendingCount;
  if (queued >= line.concurrency * (1 + WAITING_PER_CHECK) && !(await known())) {
    throw new SignInChecksBusy(Math.max(1, Math.ceil(((queued / line.concurrency) * recentCheckMs) / 1000)));
  }
  return line(async () => {
    const started = performance.now();
    try {
      return await passwordMatches(passwordHash, password);
    } finally {
      recentCheckMs = 0.8 * recentCheckMs + 0.2 * (performance.now() - started);
    }
  });
}
