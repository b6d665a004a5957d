import mongoose from 'mongoose';
import { RateLimiterMongo, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Sign-in brute-force protection: failures are counted per login and per address in MongoDB
 * (shared by every server instance). After a few failures responses are slowed; past the limit
 * the login or the address is refused for a while.
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
      blockDuration: THROTTLE.blockSeconds,
    }),
    address: new RateLimiterMongo({
      storeClient: mongoose.connection,
      tableName: 'signin_throttle_address',
      points: THROTTLE.addressFailures,
      duration: THROTTLE.windowSeconds,
      blockDuration: THROTTLE.blockSeconds,
    }),
  };
  return limiters;
}

/** Forgets the limiters, e.g. when tests reconnect to another database. */
export function resetThrottles(): void {
  limiters = undefined;
}

/** Milliseconds until sign-in is allowed again for this login or address; 0 when allowed now. */
export async function signInBlockedFor(loginKey: string, ip: string): Promise<number> {
  const { login, address } = throttles();
  const [byLogin, byAddress] = await Promise.all([login.get(loginKey), address.get(ip)]);
  const blocked = [
    byLogin && byLogin.consumedPoints > THROTTLE.loginFailures ? byLogin.msBeforeNext : 0,
    byAddress && byAddress.consumedPoints > THROTTLE.addressFailures ? byAddress.msBeforeNext : 0,
  ];
  return Math.max(...blocked);
}

/** Counts a failure; returns how long to hold the response and whether the limit is now reached. */
export async function recordSignInFailure(loginKey: string, ip: string): Promise<{ delayMs: number; blockedMs: number }> {
  const { login, address } = throttles();
  const consume = (limiter: RateLimiterMongo, key: string) =>
    limiter.consume(key).catch((rejection: unknown) => {
      if (rejection instanceof RateLimiterRes) return rejection;
      throw rejection;
    });
  const [byLogin, byAddress] = await Promise.all([consume(login, loginKey), consume(address, ip)]);
  const failures = Math.max(byLogin.consumedPoints, byAddress.consumedPoints);
  const delayMs = Math.min(Math.max(0, failures - THROTTLE.slowAfter) * THROTTLE.slowStepMs, THROTTLE.maxDelayMs);
  const blockedMs = byLogin.consumedPoints >= THROTTLE.loginFailures || byAddress.consumedPoints >= THROTTLE.addressFailures
    ? Math.max(byLogin.msBeforeNext, byAddress.msBeforeNext)
    : 0;
  return { delayMs, blockedMs };
}

/** A successful sign-in clears the login's failures (the address keeps its count). */
export async function clearSignInFailures(loginKey: string): Promise<void> {
  await throttles().login.delete(loginKey);
}
