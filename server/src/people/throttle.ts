import mongoose from 'mongoose';
import { RateLimiterMongo, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Sign-in brute-force protection, per login and per address in MongoDB (shared by every server
 * instance). Every attempt takes its place in the count before the password is checked; a right
 * password gives it back. After a few failures responses are slowed; the failure that reaches
 * the limit blocks the login or the address for a while (only failures block, never a burst of
 * attempts in flight), and attempts past the limit are not checked.
 */
export const THROTTLE = {
  loginFailures: 5,
  addressFailures: 20,
  windowSeconds: 15 * 60,
  blockSeconds: 15 * 60,
  /** Failures before responses start to slow down, and the added delay per further failure. */
  slowAfter: 2,
  slowStepMs: 250,
  maxDelayMs: 3000,
};

let limiters: { login: RateLimiterMongo; address: RateLimiterMongo } | undefined;

function throttles() {
  // Created on first use: they need an open connection to create their indexes.
  limiters ??= {
    login: new RateLimiterMongo({
      storeClient: mongoose.connection,
      tableName: 'signin_throttle_login',
      points: THROTTLE.loginFailures,
      duration: THROTTLE.windowSeconds,
    }),
    address: new RateLimiterMongo({
      storeClient: mongoose.connection,
      tableName: 'signin_throttle_address',
      points: THROTTLE.addressFailures,
      duration: THROTTLE.windowSeconds,
    }),
  };
  return limiters;
}

const inProgress = new Map<string, Promise<unknown>>();

/**
 * Runs the sign-in attempts for one login one after another in this process: parallel requests
 * (an attacker's burst, or twenty tabs signing in at once) each see the count the previous one
 * left. The atomic reservation below keeps several instances honest as well.
 */
export function oneSignInAtATime<T>(loginKey: string, attempt: () => Promise<T>): Promise<T> {
  const result = (inProgress.get(loginKey) ?? Promise.resolve()).then(attempt);
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  inProgress.set(loginKey, settled);
  void settled.then(() => {
    if (inProgress.get(loginKey) === settled) inProgress.delete(loginKey);
  });
  return result;
}

/** Forgets the limiters, e.g. when tests reconnect to another database. */
export function resetThrottles(): void {
  limiters = undefined;
}

const consume = (limiter: RateLimiterMongo, key: string) =>
  limiter.consume(key).catch((rejection: unknown) => {
    // Over the limit: the library rejects with the same result object.
    if (rejection instanceof RateLimiterRes) return rejection;
    throw rejection;
  });

/** One reserved sign-in attempt: how many attempts the login and the address have used in the window. */
export interface SignInAttempt {
  loginKey: string;
  ip: string;
  loginAttempts: number;
  addressAttempts: number;
  /** Milliseconds until sign-in is allowed again; 0 when this attempt may be verified. */
  blockedMs: number;
}

/**
 * Reserves the attempt atomically before the (slow) password check: parallel attempts each take
 * their own place in the count, so no more than the limit are ever verified. Past the limit the
 * attempt is refused without verifying anything.
 */
export async function reserveSignInAttempt(loginKey: string, ip: string): Promise<SignInAttempt> {
  const { login, address } = throttles();
  const [byLogin, byAddress] = await Promise.all([consume(login, loginKey), consume(address, ip)]);
  const blockedMs = Math.max(
    byLogin.consumedPoints > THROTTLE.loginFailures ? byLogin.msBeforeNext : 0,
    byAddress.consumedPoints > THROTTLE.addressFailures ? byAddress.msBeforeNext : 0,
  );
  const attempt = { loginKey, ip, loginAttempts: byLogin.consumedPoints, addressAttempts: byAddress.consumedPoints, blockedMs };
  // A refused attempt is not made: its place is given back (a block stays until it expires).
  if (blockedMs > 0) await releaseSignInAttempt(attempt, { signedIn: false });
  return attempt;
}

/**
 * The reserved attempt was a wrong login or password: it stays counted. Returns how long to hold the
 * response and, once the limit is reached, for how long the login or address is now blocked.
 */
export async function recordSignInFailure(attempt: SignInAttempt): Promise<{ delayMs: number; blockedMs: number }> {
  const { login, address } = throttles();
  const failures = Math.max(attempt.loginAttempts, attempt.addressAttempts);
  const delayMs = Math.min(Math.max(0, failures - THROTTLE.slowAfter) * THROTTLE.slowStepMs, THROTTLE.maxDelayMs);
  const blocks: Promise<unknown>[] = [];
  if (attempt.loginAttempts >= THROTTLE.loginFailures) blocks.push(login.block(attempt.loginKey, THROTTLE.blockSeconds));
  if (attempt.addressAttempts >= THROTTLE.addressFailures) blocks.push(address.block(attempt.ip, THROTTLE.blockSeconds));
  await Promise.all(blocks);
  return { delayMs, blockedMs: blocks.length > 0 ? THROTTLE.blockSeconds * 1000 : 0 };
}

/**
 * The reserved attempt had the right password: it is given back. A sign-in clears the login's
 * failures (the address keeps the ones it has).
 */
export async function releaseSignInAttempt(attempt: SignInAttempt, { signedIn }: { signedIn: boolean }): Promise<void> {
  const { login, address } = throttles();
  await Promise.all([signedIn ? login.delete(attempt.loginKey) : login.reward(attempt.loginKey, 1), address.reward(attempt.ip, 1)]);
}
