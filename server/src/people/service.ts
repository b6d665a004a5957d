import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mongoose, { Types } from 'mongoose';
import { accessStructureChanged } from '../access/changes';
import type { Actor } from '../access/actor';
import { chainLeadsBack } from '../access/structure';
import { recordAudit, type AuditActor } from '../audit/service';
import { AppError } from '../errors';
import { message, type Locale } from '../i18n';
import type { Logger } from '../logger';
import { FieldErrors, isDuplicateKeyError, isObjectIdText } from '../validation';
import { addressAllowedFor } from './auth';
import { isValidAllowListEntry } from './ip-allow-list';
import { Department, Group, User, type UserDoc } from './models';
import { MIN_PASSWORD_LENGTH, SignInChecksBusy, hashPassword, passwordMatches, signInPasswordMatches } from './passwords';
import { createSession, endUserSessions } from './sessions';
import {
  SignInLineFull,
  THROTTLE,
  type SignInDevice,
  keepSignInDevice,
  keptDeviceId,
  oneSignInAtATime,
  recordSignInFailure,
  releaseSignInAttempt,
  reserveSignInAttempt,
  signedInHereLast,
} from './throttle';

const LOGIN_PATTERN = /^[A-Za-z0-9._-]{3,64}$/;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const auditActorOf = (actor: Pick<Actor, 'userId' | 'login' | 'ip'>): AuditActor => ({
  userId: actor.userId,
  login: actor.login,
  ip: actor.ip,
});

const toObjectId = (id: string, errors: FieldErrors, field: string, locale: Locale): Types.ObjectId | null => {
  if (Types.ObjectId.isValid(id)) return new Types.ObjectId(id);
  errors.add(field, 'notFound', { what: locale === 'ru' ? 'Объект' : 'Item' });
  return null;
};

function checkAllowList(errors: FieldErrors, field: string, list: string[] | undefined): string[] {
  const cleaned = (list ?? []).map((entry) => entry.trim()).filter(Boolean);
  const bad = cleaned.find((entry) => !isValidAllowListEntry(entry));
  if (bad) errors.add(field, 'ipFormat', { value: bad });
  return cleaned;
}

function checkPassword(errors: FieldErrors, field: string, password: string | undefined): string {
  const value = password ?? '';
  if (value === '') errors.add(field, 'required');
  else if (value.length < MIN_PASSWORD_LENGTH) errors.add(field, 'passwordTooShort', { min: MIN_PASSWORD_LENGTH });
  return value;
}

// ---------- sign-in ----------

export interface SignInRequest {
  login: string;
  password: string;
  ip: string;
  userAgent: string;
  locale: Locale;
  logger: Logger;
  /** The browser's device cookie from an earlier sign-in (its id and the login it was given for), if any. */
  device: SignInDevice | null;
}

const throttled = (locale: Locale, ms: number) =>
  new AppError('TOO_MANY_REQUESTS', message(locale, 'throttled', { minutes: Math.max(1, Math.ceil(ms / 60_000)) }), {
    retryAfterSeconds: Math.ceil(ms / 1000),
  });

/** Refused unchecked for a few seconds because others' attempts fill the line (`reason` tells the client it may try again by itself). */
const signInBusy = (locale: Locale, seconds: number) =>
  new AppError('TOO_MANY_REQUESTS', message(locale, 'signInBusy', { seconds }), { retryAfterSeconds: seconds, reason: 'SIGN_IN_BUSY' });

/**
 * Checks the password (throttled per login and address, or per device) and opens a session. The
 * answer names the device the browser is to keep: the one it proved, or a new one.
 */
export async function signIn(request: SignInRequest): Promise<{ token: string; user: UserDoc; device: SignInDevice }> {
  const { locale } = request;
  const errors = new FieldErrors(locale);
  const login = errors.text('login', request.login, { max: 64 });
  if (!request.password) errors.add('password', 'required');
  errors.throwIfAny();
  const loginKey = login.toLowerCase();
  const deviceId = await keptDeviceId(request.device, loginKey);
  return oneSignInAtATime(loginKey, request.ip, deviceId, () => attemptSignIn(request, loginKey, deviceId)).catch((error: unknown) => {
    if (!(error instanceof SignInLineFull)) throw error;
    request.logger.warn({ login: loginKey, ip: request.ip }, 'sign-in refused: too many attempts waiting');
    throw signInBusy(locale, Math.ceil(THROTTLE.slowStepMs / 1000));
  });
}

async function attemptSignIn(request: SignInRequest, loginKey: string, deviceId: string | null): Promise<{ token: string; user: UserDoc; device: SignInDevice }> {
  const { ip, locale, logger } = request;
  const attempt = await reserveSignInAttempt(loginKey, ip, deviceId);
  if (attempt.blockedMs > 0) {
    logger.warn({ login: loginKey, ip }, 'sign-in refused: throttled');
    throw throttled(locale, attempt.blockedMs);
  }

  const user = await User.findOne({ loginKey }).lean<UserDoc>();
  const matches = await signInPasswordMatches(user?.passwordHash, request.password, () => signedInHereLast(loginKey, ip, deviceId)).catch(async (error: unknown) => {
    if (!(error instanceof SignInChecksBusy)) throw error;
    // Not checked, so not counted against the login or the address.
    await releaseSignInAttempt(attempt, { signedIn: false });
    logger.warn({ login: loginKey, ip }, 'sign-in refused: too many password checks waiting');
    throw signInBusy(locale, error.retryAfterSeconds);
  });
  if (!matches || !user) {
    const failure = await recordSignInFailure(attempt);
    logger.warn({ login: loginKey, ip }, 'sign-in failed: wrong login or password');
    await recordAudit({ userId: user?._id ?? null, login: loginKey, ip }, { kind: 'sign-in-failed', summary: 'wrong login or password' });
    if (failure.loginClosed) {
      logger.warn({ login: loginKey, ip }, 'sign-in closed to new addresses: failures from many addresses');
      await recordAudit(
        { userId: user?._id ?? null, login: loginKey, ip },
        { kind: 'sign-in-failed', summary: `login closed for ${THROTTLE.blockSeconds / 60} minutes to addresses it never signed in from: ${THROTTLE.loginFailures} failures` },
      );
    }
    if (failure.delayMs > 0) await sleep(failure.delayMs);
    if (failure.blockedMs > 0) throw throttled(locale, failure.blockedMs);
    throw new AppError('UNAUTHENTICATED', message(locale, 'badCredentials'));
  }
  // Only after the password is right, so guessers learn nothing about the account.
  if (!user.active) {
    await releaseSignInAttempt(attempt, { signedIn: false });
    await recordAudit({ userId: user._id, login: user.login, ip }, { kind: 'sign-in-failed', summary: 'inactive user' });
    throw new AppError('FORBIDDEN', message(locale, 'inactiveUser'), { reason: 'INACTIVE' });
  }
  if (!(await addressAllowedFor(user, ip))) {
    await releaseSignInAttempt(attempt, { signedIn: false });
    logger.warn({ login: loginKey, ip }, 'sign-in refused: address not allowed');
    await recordAudit({ userId: user._id, login: user.login, ip }, { kind: 'sign-in-failed', summary: `address ${ip} not allowed` });
    throw new AppError('FORBIDDEN', message(locale, 'ipRefused', { ip }), { reason: 'ADDRESS_NOT_ALLOWED' });
  }
  const device = { id: deviceId ?? randomBytes(16).toString('base64url'), loginKey };
  await Promise.all([releaseSignInAttempt(attempt, { signedIn: true }), keepSignInDevice(device)]);
  const token = await createSession(user._id, ip, request.userAgent);
  await recordAudit({ userId: user._id, login: user.login, ip }, { kind: 'sign-in' });
  logger.info({ login: user.login, ip }, 'signed in');
  return { token, user, device };
}

export async function changeOwnPassword(actor: Actor, oldPassword: string, newPassword: string, keepSessionToken: string | null): Promise<void> {
  const errors = new FieldErrors(actor.locale);
  const password = checkPassword(errors, 'newPassword', newPassword);
  const user = await User.findById(actor.userId).lean<UserDoc>();
  if (!user || !(await passwordMatches(user.passwordHash, oldPassword ?? ''))) errors.add('oldPassword', 'wrongOldPassword');
  errors.throwIfAny();
  await User.updateOne({ _id: actor.userId }, { $set: { passwordHash: await hashPassword(password) } });
  // Other sessions (another browser, a stolen cookie) end; this one goes on.
  await endUserSessions(actor.userId, keepSessionToken);
  await recordAudit(auditActorOf(actor), { kind: 'password-changed', targetType: 'User', targetId: actor.userId });
}

// ---------- departments ----------

export interface DepartmentInput {
  name?: string | null;
  parentId?: string | null;
  ipAllowList?: string[] | null;
}

async function ensureDepartmentExists(errors: FieldErrors, field: string, id: string | null | undefined, locale: Locale) {
  if (!id) return null;
  const objectId = toObjectId(id, errors, field, locale);
  if (objectId && !(await Department.exists({ _id: objectId }))) errors.add(field, 'notFound', { what: locale === 'ru' ? 'Подразделение' : 'Department' });
  return objectId;
}

export async function createDepartment(actor: Actor, input: DepartmentInput) {
  const errors = new FieldErrors(actor.locale);
  const name = errors.text('name', input.name);
  const parentId = await ensureDepartmentExists(errors, 'parentId', input.parentId, actor.locale);
  const ipAllowList = checkAllowList(errors, 'ipAllowList', input.ipAllowList ?? []);
  errors.throwIfAny();
  const department = await Department.create({ name, parentId, ipAllowList });
  await recordAudit(auditActorOf(actor), {
    kind: 'department-created',
    targetType: 'Department',
    targetId: String(department._id),
    after: { name, parentId: input.parentId ?? null, ipAllowList },
  });
  return department.toObject();
}

export async function updateDepartment(actor: Actor, id: string, input: DepartmentInput) {
  const department = Types.ObjectId.isValid(id) ? await Department.findById(id) : null;
  if (!department) throw new AppError('NOT_FOUND', message(actor.locale, 'notFound', { what: actor.locale === 'ru' ? 'Подразделение' : 'Department' }));
  const before = { name: department.name, parentId: department.parentId ? String(department.parentId) : null, ipAllowList: [...department.ipAllowList] };
  const errors = new FieldErrors(actor.locale);
  if (input.name !== undefined) department.name = errors.text('name', input.name);
  if (input.parentId !== undefined) department.parentId = await ensureDepartmentExists(errors, 'parentId', input.parentId, actor.locale);
  if (input.ipAllowList !== undefined) department.ipAllowList = checkAllowList(errors, 'ipAllowList', input.ipAllowList ?? []);
  errors.throwIfAny();
  await mongoose.connection.transaction(async (session) => {
    // Two moves that each checked the tree before the other wrote would both commit (A under B, B
    // under A, s15): every change first moves the departments' tree revision, so of two at once the
    // second conflicts, is retried, and reads the chain the first left.
    await mongoose.connection
      .db!.collection<{ _id: string; revision: number }>('meta')
      .updateOne({ _id: DEPARTMENT_TREE_ID }, { $inc: { revision: 1 } }, { session, upsert: true });
    const parentOf = async (at: Types.ObjectId) => (await Department.findById(at, { parentId: 1 }).session(session).lean())?.parentId ?? null;
    if (department.parentId && (await chainLeadsBack(department._id, department.parentId, parentOf))) {
      throw new AppError('BAD_USER_INPUT', message(actor.locale, 'invalidInput'), { fields: { parentId: message(actor.locale, 'departmentCycle') } });
    }
    await department.save({ session });
  });
  // After the commit: other instances reload the tree as committed (see access/changes.ts).
  await accessStructureChanged();
  const after = { name: department.name, parentId: department.parentId ? String(department.parentId) : null, ipAllowList: [...department.ipAllowList] };
  await recordAudit(auditActorOf(actor), { kind: 'department-updated', targetType: 'Department', targetId: id, before, after });
  return department.toObject();
}

/** The record whose revision every change of a department moves (updateDepartment). */
const DEPARTMENT_TREE_ID = 'department-tree';

export async function deleteDepartment(actor: Actor, id: string): Promise<boolean> {
  if (!Types.ObjectId.isValid(id)) return false;
  const [users, children] = await Promise.all([User.exists({ departmentId: id }), Department.exists({ parentId: id })]);
  if (users || children) throw new AppError('BAD_USER_INPUT', message(actor.locale, 'departmentNotEmpty'));
  const deleted = await Department.findByIdAndDelete(id).lean();
  if (deleted) await recordAudit(auditActorOf(actor), { kind: 'department-deleted', targetType: 'Department', targetId: id, before: { name: deleted.name } });
  return Boolean(deleted);
}

// ---------- users ----------

export interface UserInput {
  login?: string | null;
  fullName?: string | null;
  email?: string | null;
  password?: string | null;
  departmentId?: string | null;
  locale?: Locale | null;
  ipAllowList?: string[] | null;
}

const publicUserFields = (user: UserDoc) => ({
  login: user.login,
  fullName: user.fullName,
  email: user.email,
  departmentId: String(user.departmentId),
  active: user.active,
  locale: user.locale,
  ipAllowList: [...(user.ipAllowList ?? [])],
});

function checkLogin(errors: FieldErrors, login: string | null | undefined): string {
  const value = errors.text('login', login, { max: 64 });
  if (value && !LOGIN_PATTERN.test(value)) errors.add('login', 'loginFormat');
  return value;
}

function checkEmail(errors: FieldErrors, email: string | null | undefined): string {
  const value = errors.text('email', email, { required: false, max: 200 });
  if (value && !EMAIL_PATTERN.test(value)) errors.add('email', 'emailFormat');
  return value;
}

export async function createUser(actor: Actor, input: UserInput): Promise<UserDoc> {
  const errors = new FieldErrors(actor.locale);
  const login = checkLogin(errors, input.login);
  const fullName = errors.text('fullName', input.fullName);
  const email = checkEmail(errors, input.email);
  const password = checkPassword(errors, 'password', input.password ?? undefined);
  if (!input.departmentId) errors.add('departmentId', 'required');
  const departmentId = await ensureDepartmentExists(errors, 'departmentId', input.departmentId, actor.locale);
  const ipAllowList = checkAllowList(errors, 'ipAllowList', input.ipAllowList ?? []);
  if (login && !errors.has('login') && (await User.exists({ loginKey: login.toLowerCase() }))) errors.add('login', 'loginTaken', { login });
  errors.throwIfAny();
  if (!departmentId) throw new Error('unreachable: departmentId was validated');
  try {
    const user = await User.create({
      login,
      loginKey: login.toLowerCase(),
      fullName,
      email,
      departmentId,
      locale: input.locale ?? 'ru',
      passwordHash: await hashPassword(password),
      ipAllowList,
    });
    const created = user.toObject() as UserDoc;
    await recordAudit(auditActorOf(actor), { kind: 'user-created', targetType: 'User', targetId: String(user._id), after: publicUserFields(created) });
    return created;
  } catch (error) {
    // Two administrators creating the same login at once: the unique index decides.
    if (!isDuplicateKeyError(error)) throw error;
    errors.add('login', 'loginTaken', { login });
    errors.throwIfAny();
    throw error;
  }
}

async function findUserOrFail(actor: Actor, id: string) {
  const user = Types.ObjectId.isValid(id) ? await User.findById(id) : null;
  if (!user) throw new AppError('NOT_FOUND', message(actor.locale, 'notFound', { what: actor.locale === 'ru' ? 'Пользователь' : 'User' }));
  return user;
}

export async function updateUser(actor: Actor, id: string, input: UserInput): Promise<UserDoc> {
  const user = await findUserOrFail(actor, id);
  const before = publicUserFields(user.toObject() as UserDoc);
  const errors = new FieldErrors(actor.locale);
  if (input.login !== undefined) {
    const login = checkLogin(errors, input.login);
    if (login.toLowerCase() !== user.loginKey && (await User.exists({ loginKey: login.toLowerCase() }))) errors.add('login', 'loginTaken', { login });
    user.login = login;
    user.loginKey = login.toLowerCase();
  }
  if (input.fullName !== undefined) user.fullName = errors.text('fullName', input.fullName);
  if (input.email !== undefined) user.email = checkEmail(errors, input.email);
  if (input.departmentId !== undefined) {
    if (!input.departmentId) errors.add('departmentId', 'required');
    const departmentId = await ensureDepartmentExists(errors, 'departmentId', input.departmentId, actor.locale);
    if (departmentId) user.departmentId = departmentId;
  }
  if (input.locale) user.locale = input.locale;
  if (input.ipAllowList !== undefined) user.ipAllowList = checkAllowList(errors, 'ipAllowList', input.ipAllowList ?? []);
  errors.throwIfAny();
  try {
    await user.save();
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    errors.add('login', 'loginTaken', { login: user.login });
    errors.throwIfAny();
  }
  const after = publicUserFields(user.toObject() as UserDoc);
  await recordAudit(auditActorOf(actor), { kind: 'user-updated', targetType: 'User', targetId: id, before, after });
  return user.toObject() as UserDoc;
}

/** The user's own preferences (language); no admin right needed. */
export async function setOwnLocale(actor: Actor, locale: Locale): Promise<void> {
  await User.updateOne({ _id: actor.userId }, { $set: { locale } });
}

export async function setUserActive(actor: Actor, id: string, active: boolean): Promise<UserDoc> {
  if (!active && id === actor.userId) throw new AppError('BAD_USER_INPUT', message(actor.locale, 'cannotDeactivateSelf'));
  const user = await findUserOrFail(actor, id);
  const wasActive = user.active;
  user.active = active;
  await user.save();
  if (!active) await endUserSessions(user._id);
  await recordAudit(auditActorOf(actor), {
    kind: 'user-updated',
    targetType: 'User',
    targetId: id,
    summary: active ? 'activated' : 'deactivated',
    before: { active: wasActive },
    after: { active },
  });
  return user.toObject() as UserDoc;
}

export async function resetPassword(actor: Actor, id: string, newPassword: string): Promise<void> {
  const errors = new FieldErrors(actor.locale);
  const password = checkPassword(errors, 'newPassword', newPassword);
  errors.throwIfAny();
  const user = await findUserOrFail(actor, id);
  user.passwordHash = await hashPassword(password);
  await user.save();
  await endUserSessions(user._id);
  await recordAudit(auditActorOf(actor), { kind: 'password-reset', targetType: 'User', targetId: id });
}

// ---------- groups ----------

const groupNotFound = (actor: Actor) => new AppError('NOT_FOUND', message(actor.locale, 'notFound', { what: actor.locale === 'ru' ? 'Группа' : 'Group' }));

async function findGroupOrFail(actor: Actor, id: string) {
  const group = Types.ObjectId.isValid(id) ? await Group.findById(id) : null;
  if (!group) throw groupNotFound(actor);
  return group;
}

export async function createGroup(actor: Actor, name: string) {
  const errors = new FieldErrors(actor.locale);
  const cleaned = errors.text('name', name);
  errors.throwIfAny();
  const group = await Group.create({ name: cleaned });
  await recordAudit(auditActorOf(actor), { kind: 'group-created', targetType: 'Group', targetId: String(group._id), after: { name: cleaned } });
  return group.toObject();
}

export async function renameGroup(actor: Actor, id: string, name: string) {
  const group = await findGroupOrFail(actor, id);
  if (group.systemRole) throw new AppError('BAD_USER_INPUT', message(actor.locale, 'systemGroup'), { fields: { name: message(actor.locale, 'systemGroup') } });
  const errors = new FieldErrors(actor.locale);
  const cleaned = errors.text('name', name);
  errors.throwIfAny();
  const before = { name: group.name };
  group.name = cleaned;
  await group.save();
  await recordAudit(auditActorOf(actor), { kind: 'group-updated', targetType: 'Group', targetId: id, before, after: { name: cleaned } });
  return group.toObject();
}

/** Adds and removes members in one step; unknown user ids are reported at `add`, malformed ones at either list. */
export async function changeGroupMembers(actor: Actor, id: string, add: readonly string[] | null, remove: readonly string[] | null) {
  const group = await findGroupOrFail(actor, id);
  const errors = new FieldErrors(actor.locale);
  const adding = [...new Set((add ?? []).map((userId) => userId.toLowerCase()))];
  const removing = [...new Set((remove ?? []).map((userId) => userId.toLowerCase()))];
  for (const [field, ids] of [
    ['add', adding],
    ['remove', removing],
  ] as const) {
    if (ids.length > 1000) errors.add(field, 'tooMany', { max: 1000 });
    else if (!ids.every(isObjectIdText)) errors.add(field, 'badId');
  }
  if (!errors.has('add') && (await User.countDocuments({ _id: { $in: adding } })) !== adding.length) {
    errors.add('add', 'notFound', { what: actor.locale === 'ru' ? 'Пользователь' : 'User' });
  }
  errors.throwIfAny();
  // One atomic update of the ids named, so two administrators changing one group at once both keep
  // their change: what this call names is added (unless also removed) or removed, the rest stays.
  const named = new Set([...removing, ...adding]);
  const removed = new Set(removing);
  const added = adding.filter((userId) => !removed.has(userId));
  const oids = (ids: Iterable<string>) => [...ids].map((userId) => new Types.ObjectId(userId));
  const stored = await Group.findOneAndUpdate(
    { _id: group._id },
    [
      {
        $set: {
          memberIds: { $concatArrays: [{ $filter: { input: { $ifNull: ['$memberIds', []] }, as: 'member', cond: { $not: [{ $in: ['$$member', oids(named)] }] } } }, oids(added)] },
        },
      },
    ],
    { returnDocument: 'before', updatePipeline: true },
  ).lean();
  if (!stored) throw groupNotFound(actor);
  const before = stored.memberIds.map(String);
  // The list the update left: the members not named in their order, then those added.
  const members = [...before.filter((userId) => !named.has(userId)), ...added];
  await recordAudit(auditActorOf(actor), {
    kind: 'group-members-changed',
    targetType: 'Group',
    targetId: id,
    summary: group.name,
    before,
    after: members,
  });
  return { ...stored, memberIds: members.map((m) => new Types.ObjectId(m)) };
}
