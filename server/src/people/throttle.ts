import mongoose from 'mongoose';
import { RateLimiterMongo, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Sign-in brute-force protection in MongoDB (shared by every server instance), counted three ways:
 * per login and address, per address, and per login over all addresses. Every attempt takes its place
 * in the counts before the password is checked; a right password gives it back. After a few failures
 * responses are slowed; the failure that reaches a limit blocks for a while (only failures block,
 * never a burst of attempts in flight), and attempts past a limit are not checked.
 *
 * What a block shuts is the attacker's way in, not the owner's (s10 attack A10: five wrong passwords
 * from anywhere used to keep a login, the administrator's too, out everywhere): failures from one
 * address block that login from that address, and many from one address block the address. A login
 * guessed at from many addresses is closed only to addresses it never signed in from: where its owner
 * signed in during the last 90 days the right password still opens it.
 *
 * A browser that signed in to the login before carries a signed device cookie (OWASP's «device
 * cookies», s10 re-attack S2): its attempts count only against that device, so no failures of others
 * — not even from the owner's own office address, shared by everyone behind its NAT — refuse it;
 * five wrong passwords with the cookie block the cookie. A login keeps its `maxKnownDevices` newest
 * devices (s13 re-attack B1: one account holder minted devices without bound, five guesses each);
 * an older cookie counts as no cookie.
 */
export const THROTTLE = {
  /** Failures of one login from one address. */
  pairFailures: 5,
  /** Failures from one address, whatever the logins. */
  addressFailures: 20,
  /** Failures of one login from all addresses together: then closed to addresses it never signed in from. */
  loginFailures: 20,
  windowSeconds: 15 * 60,
  blockSeconds: 15 * 60,
  /** How long an address or a browser the login signed in from stays known to it. */
  knownAddressDays: 90,
  /** Browsers a login keeps as known, the newest sign-ins. */
  maxKnownDevices: 20,
  /** Attempts of one login from one address (or device) that wait for the one being checked; more are refused at once. */
  maxWaiting: 20,
  /** Failures before responses start to slow down, and the added delay per further failure. */
  slowAfter: 2,
  slowStepMs: 250,
  maxDelayMs: 3000,
};

/**
 * An address a login signed in from (kept `knownAddressDays` after the last time), and whether an
 * attempt from it failed since.
 */
const knownAddressSchema = new mongoose.Schema(
  { _id: String, expiresAt: { type: Date, required: true }, failedSinceSignIn: { type: Boolean, default: false } },
  { versionKey: false },
);
knownAddressSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });
const KnownAddress = mongoose.model('SignInKnownAddress', knownAddressSchema, 'signin_known_addresses');

/** A browser (its device cookie's id) a login signed in from, like a known address; a login keeps its newest `maxKnownDevices`. */
const knownDeviceSchema = new mongoose.Schema(
  {
    _id: String,
    loginKey: { type: String, required: true },
    signedInAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    failedSinceSignIn: { type: Boolean, default: false },
  },
  { versionKey: false },
);
knownDeviceSchema.index({ loginKey: 1, signedInAt: -1 });
knownDeviceSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });
const KnownDevice = mongoose.model('SignInKnownDevice', knownDeviceSchema, 'signin_known_devices');

const knownUntil = () => new Date(Date.now() + THROTTLE.knownAddressDays * 86_400_000);

const pairKey = (loginKey: string, ip: string) => `${loginKey}|${ip}`;

let limiters: { pair: RateLimiterMongo; login: RateLimiterMongo; address: RateLimiterMongo; device: RateLimiterMongo } | undefined;

function throttles() {
  // Created on first use: they need an open connection to create their indexes.
  const limiter = (tableName: string, points: number) => new RateLimiterMongo({ storeClient: mongoose.connection, tableName, points, duration: THROTTLE.windowSeconds });
  limiters ??= {
    pair: limiter('signin_throttle_pair', THROTTLE.pairFailures),
    login: limiter('signin_throttle_login', THROTTLE.loginFailures),
    address: limiter('signin_throttle_address', THROTTLE.addressFailures),
    device: limiter('signin_throttle_device', THROTTLE.pairFailures),
  };
  return limiters;
}

/** A browser that signed in to a login before: the id its device cookie carries, and the login. */
export interface SignInDevice {
  id: string;
  loginKey: string;
}

/** Per line (a login from one address, or from one device): the attempt being checked and those waiting for it. */
const lines = new Map<string, { tail: Promise<unknown>; waiting: number }>();

/** An attempt refused because too many of the same login and address are already waiting. */
export class SignInLineFull extends Error {}

/**
 * Runs the sign-in attempts of one login from one address (or one device) one after another in this
 * process: parallel requests (an attacker's burst, or twenty tabs signing in at once) each see the
 * count the previous one left. Other addresses do not wait for them (s10 re-attack S1: a flood from
 * strangers kept the owner's right password waiting 10–17 s): across addresses the atomic
 * reservation keeps the counts honest, as it does across instances. A line holds at most
 * `maxWaiting` attempts; more are refused at once.
 */
export function oneSignInAtATime<T>(loginKey: string, ip: string, deviceId: string | null, attempt: () => Promise<T>): Promise<T> {
  const key = deviceId ? `${loginKey}#${deviceId}` : pairKey(loginKey, ip);
  const line = lines.get(key) ?? { tail: Promise.resolve(), waiting: 0 };
  if (line.waiting >= THROTTLE.maxWaiting) return Promise.reject(new SignInLineFull());
  line.waiting += 1;
  lines.set(key, line);
  const result = line.tail.then(() => {
    line.waiting -= 1;
    return attempt();
  });
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  line.tail = settled;
  void settled.then(() => {
    if (line.tail === settled) lines.delete(key);
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

/** One reserved sign-in attempt: how many attempts the login, the address and both together (or the device) have used in the window. */
export interface SignInAttempt {
  loginKey: string;
  ip: string;
  /** The browser's device id when its cookie proves an earlier sign-in to this login: then only the device's attempts count. */
  deviceId: string | null;
  /** Attempts of the login from this address, or from this device. */
  pairAttempts: number;
  loginAttempts: number;
  addressAttempts: number;
  /** Milliseconds until sign-in is allowed again; 0 when this attempt may be verified. */
  blockedMs: number;
}

/** Whether the login signed in from this address within the last `knownAddressDays`. */
export const knownAddress = async (loginKey: string, ip: string) => (await KnownAddress.exists({ _id: pairKey(loginKey, ip), expiresAt: { $gt: new Date() } })) !== null;

/** The id of the browser's device cookie if it is one of the devices its login keeps, else null (then it counts as no cookie). */
export async function keptDeviceId(device: SignInDevice | null, loginKey: string): Promise<string | null> {
  if (device?.loginKey !== loginKey) return null;
  return (await KnownDevice.exists({ _id: device.id, loginKey, expiresAt: { $gt: new Date() } })) ? device.id : null;
}

/**
 * Whether the attempt comes from the browser (or, without a kept device, the address) whose last
 * attempt at the login signed in: such an attempt waits its turn for a password check when strangers
 * fill the line; one that failed since waits like a stranger's (s13 re-attack B1).
 */
export async function signedInHereLast(loginKey: string, ip: string, deviceId: string | null): Promise<boolean> {
  const stillGood = { failedSinceSignIn: { $ne: true }, expiresAt: { $gt: new Date() } };
  const found = deviceId ? await KnownDevice.exists({ _id: deviceId, loginKey, ...stillGood }) : await KnownAddress.exists({ _id: pairKey(loginKey, ip), ...stillGood });
  return found !== null;
}

/** Keeps the browser that just signed in as known to the login, forgetting the login's devices beyond the newest `maxKnownDevices`. */
export async function keepSignInDevice({ id, loginKey }: SignInDevice): Promise<void> {
  await KnownDevice.updateOne({ _id: id }, { $set: { loginKey, signedInAt: new Date(), expiresAt: knownUntil(), failedSinceSignIn: false } }, { upsert: true });
  const older = await KnownDevice.find({ loginKey }, { _id: 1 }).sort({ signedInAt: -1 }).skip(THROTTLE.maxKnownDevices).lean<{ _id: string }[]>();
  if (older.length > 0) await KnownDevice.deleteMany({ _id: { $in: older.map((device) => device._id) } });
}

const over = (result: RateLimiterRes, limit: number) => (result.consumedPoints > limit ? result.msBeforeNext : 0);

/**
 * Reserves the attempt atomically before the (slow) password check: parallel attempts each take
 * their own place in the count, so no more than the limit are ever verified. Past the limit the
 * attempt is refused without verifying anything.
 */
export async function reserveSignInAttempt(loginKey: string, ip: string, deviceId: string | null): Promise<SignInAttempt> {
  const { pair, login, address, device } = throttles();
  let attempt: SignInAttempt;
  if (deviceId) {
    const byDevice = await consume(device, deviceId);
    attempt = { loginKey, ip, deviceId, pairAttempts: byDevice.consumedPoints, loginAttempts: 0, addressAttempts: 0, blockedMs: over(byDevice, THROTTLE.pairFailures) };
  } else {
    const [byPair, byLogin, byAddress] = await Promise.all([consume(pair, pairKey(loginKey, ip)), consume(login, loginKey), consume(address, ip)]);
    // A login under attack from many addresses is still open where it signed in before (asked only then).
    const loginBlockedMs = over(byLogin, THROTTLE.loginFailures) > 0 && !(await knownAddress(loginKey, ip)) ? byLogin.msBeforeNext : 0;
    const blockedMs = Math.max(over(byPair, THROTTLE.pairFailures), over(byAddress, THROTTLE.addressFailures), loginBlockedMs);
    attempt = { loginKey, ip, deviceId, pairAttempts: byPair.consumedPoints, loginAttempts: byLogin.consumedPoints, addressAttempts: byAddress.consumedPoints, blockedMs };
  }
  // A refused attempt is not made: its place is given back (a block stays until it expires).
  if (attempt.blockedMs > 0) await releaseSignInAttempt(attempt, { signedIn: false });
  return attempt;
}

/**
 * The reserved attempt was a wrong login or password: it stays counted. Returns how long to hold the
 * response; once a limit is reached, for how long this address (or device) may not try the login
 * again, and whether the login was just closed to addresses it never signed in from.
 */
export async function recordSignInFailure(attempt: SignInAttempt): Promise<{ delayMs: number; blockedMs: number; loginClosed: boolean }> {
  const { pair, login, address, device } = throttles();
  const delayMs = Math.min(Math.max(0, Math.max(attempt.pairAttempts, attempt.addressAttempts) - THROTTLE.slowAfter) * THROTTLE.slowStepMs, THROTTLE.maxDelayMs);
  const pairBlocked = attempt.pairAttempts >= THROTTLE.pairFailures;
  const failedSinceSignIn = { $set: { failedSinceSignIn: true } };
  if (attempt.deviceId) {
    await Promise.all([KnownDevice.updateOne({ _id: attempt.deviceId }, failedSinceSignIn), pairBlocked && device.block(attempt.deviceId, THROTTLE.blockSeconds)]);
    return { delayMs, blockedMs: pairBlocked ? THROTTLE.blockSeconds * 1000 : 0, loginClosed: false };
  }
  const addressBlocked = attempt.addressAttempts >= THROTTLE.addressFailures;
  const loginClosed = attempt.loginAttempts === THROTTLE.loginFailures;
  await Promise.all([
    KnownAddress.updateOne({ _id: pairKey(attempt.loginKey, attempt.ip) }, failedSinceSignIn),
    pairBlocked && pair.block(pairKey(attempt.loginKey, attempt.ip), THROTTLE.blockSeconds),
    addressBlocked && address.block(attempt.ip, THROTTLE.blockSeconds),
    attempt.loginAttempts >= THROTTLE.loginFailures && login.block(attempt.loginKey, THROTTLE.blockSeconds),
  ]);
  const blocked = pairBlocked || addressBlocked || (loginClosed && !(await knownAddress(attempt.loginKey, attempt.ip)));
  return { delayMs, blockedMs: blocked ? THROTTLE.blockSeconds * 1000 : 0, loginClosed };
}

/**
 * The reserved attempt had the right password, or was refused: it is given back. A sign-in clears
 * the failures of its login from its address (or device) and makes the address known to the login
 * (the login's failures from elsewhere and the address's own stay).
 */
export async function releaseSignInAttempt(attempt: SignInAttempt, { signedIn }: { signedIn: boolean }): Promise<void> {
  const { pair, login, address, device } = throttles();
  const key = pairKey(attempt.loginKey, attempt.ip);
  const knowAddress = () => KnownAddress.updateOne({ _id: key }, { $set: { expiresAt: knownUntil(), failedSinceSignIn: false } }, { upsert: true });
  if (attempt.deviceId) {
    await Promise.all([signedIn ? device.delete(attempt.deviceId) : device.reward(attempt.deviceId, 1), signedIn && knowAddress()]);
    return;
  }
  await Promise.all([signedIn ? pair.delete(key) : pair.reward(key, 1), login.reward(attempt.loginKey, 1), address.reward(attempt.ip, 1), signedIn && knowAddress()]);
}
