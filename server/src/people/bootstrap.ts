import { randomBytes } from 'node:crypto';
import type { Config } from '../config';
import { announce, type Logger } from '../logger';
import { recordAudit } from '../audit/service';
import { Department, Group, User, type SystemGroupRole } from './models';
import { hashPassword } from './passwords';

const SYSTEM_GROUPS: { role: SystemGroupRole; name: string }[] = [
  { role: 'administrators', name: 'Администраторы' },
  { role: 'history-readers', name: 'Операторы чтения истории' },
  // The «Экспорт» right: members may export the cards they can read (administrators always may).
  { role: 'exporters', name: 'Доверенные лица (экспорт)' },
];

/** The system groups exist on every start (idempotent: found by role, never by name). */
export async function ensureSystemGroups(): Promise<void> {
  for (const { role, name } of SYSTEM_GROUPS) {
    await Group.updateOne({ systemRole: role }, { $setOnInsert: { name, systemRole: role, memberIds: [] } }, { upsert: true });
  }
}

export async function systemGroupId(role: SystemGroupRole): Promise<string> {
  const group = await Group.findOne({ systemRole: role }, { _id: 1 }).lean();
  if (!group) throw new Error(`system group ${role} is missing`);
  return String(group._id);
}

/**
 * On an empty database: the first administrator, in a root department. The password comes from
 * ADMIN_PASSWORD or is generated and printed once. Returns whether the database was empty.
 */
export async function ensureAdministrator(config: Pick<Config, 'adminLogin' | 'adminPassword'>, logger: Logger): Promise<boolean> {
  if (await User.exists({})) return false;
  const department = await Department.create({ name: 'Организация' });
  const password = config.adminPassword ?? randomBytes(12).toString('base64url');
  const admin = await User.create({
    login: config.adminLogin,
    loginKey: config.adminLogin.toLowerCase(),
    fullName: 'Администратор',
    departmentId: department._id,
    passwordHash: await hashPassword(password),
  });
  await Group.updateOne({ systemRole: 'administrators' }, { $addToSet: { memberIds: admin._id } });
  await recordAudit({ userId: null, login: 'system', ip: '' }, { kind: 'user-created', targetType: 'User', targetId: String(admin._id), summary: 'first administrator' });
  if (config.adminPassword) {
    logger.info({ login: config.adminLogin }, 'administrator created with ADMIN_PASSWORD');
  } else {
    // Printed once, on purpose, framed outside the log stream so nobody has to dig it out of JSON.
    logger.warn({ login: config.adminLogin }, 'administrator created with a generated password, shown once in the frame on standard output');
    announce(['Kartoteka: the first administrator', `login:    ${config.adminLogin}`, `password: ${password}`, 'Shown only this once. Change it after signing in.']);
  }
  return true;
}
