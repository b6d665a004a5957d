import type { Logger } from '../server/src/logger';
import { Folder, Library } from '../server/src/folders/models';
import { Department, Group, User } from '../server/src/people/models';
import { hashPassword } from '../server/src/people/passwords';
import { seedDemoCards } from './demo-cards';

/** Password of every demo user (not the administrator); shown in the README. */
export const DEMO_PASSWORD = 'kartoteka-demo';

export const DEMO_USERS = [
  { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', email: 'goncharenko@example.ru' },
  { login: 'nvakulenko', fullName: 'Наталья Вакуленко', email: 'vakulenko@example.ru' },
  { login: 'iorlov', fullName: 'Игорь Орлов', email: 'orlov@example.ru' },
];

/**
 * The scenario of ARCHITECTURE.md: department «Кассиопея» with Татьяна and Наталья, full access
 * to «Корреспонденты» in «Корреспонденты и контакты»; a sales department that may only read it.
 * Idempotent: does nothing when the department already exists.
 */
export async function seedDemoData(logger: Logger): Promise<void> {
  if (await Department.exists({ name: 'Кассиопея' })) {
    logger.info('demo data already present');
    return;
  }
  const root = await Department.findOne({ parentId: null }).lean();
  const cassiopeia = await Department.create({ name: 'Кассиопея', parentId: root?._id ?? null });
  const sales = await Department.create({ name: 'Отдел продаж', parentId: root?._id ?? null });
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  const [tatiana, natalia, igor] = await User.create(
    DEMO_USERS.map((u, index) => ({ ...u, loginKey: u.login, departmentId: index < 2 ? cassiopeia._id : sales._id, passwordHash })),
  );

  const correspondents = await Library.create({ name: 'Корреспонденты и контакты', order: 0 });
  const contracts = await Library.create({ name: 'Договоры', order: 1 });
  const full = (principalId: unknown) => ({ principalType: 'user', principalId, level: 'full' });
  await Folder.create([
    {
      libraryId: correspondents._id,
      name: 'Корреспонденты',
      order: 0,
      allowedCardTypes: ['counterparty', 'contact-person'],
      defaultCardType: 'counterparty',
      accessEntries: [full(tatiana._id), full(natalia._id), { principalType: 'department', principalId: sales._id, level: 'read' }],
    },
    {
      libraryId: contracts._id,
      name: 'Договоры 2026',
      order: 0,
      allowedCardTypes: ['contract'],
      defaultCardType: 'contract',
      accessEntries: [full(tatiana._id), { principalType: 'user', principalId: natalia._id, level: 'edit' }],
    },
    {
      libraryId: contracts._id,
      name: 'Коммерческие предложения',
      order: 1,
      allowedCardTypes: ['commercial-proposal'],
      defaultCardType: 'commercial-proposal',
      accessEntries: [full(tatiana._id), { principalType: 'department', principalId: sales._id, level: 'edit' }],
    },
  ]);
  await Group.updateOne({ systemRole: 'history-readers' }, { $addToSet: { memberIds: igor._id } });
  await seedDemoCards(logger);
  logger.info({ users: DEMO_USERS.map((u) => u.login), password: DEMO_PASSWORD }, 'demo data loaded');
}
