import { Types } from 'mongoose';
import { renderTitle, searchIndexOf } from '../card-types';
import { builtInCardTypes } from '../card-types/built-in';
import { Card } from '../server/src/cards/model';
import { Folder, Library } from '../server/src/folders/models';
import { Department, Group, User } from '../server/src/people/models';
import { hashPassword } from '../server/src/people/passwords';
import { cardReadKey, folderReadKey, Read } from '../server/src/unread/model';
import { innFromStem } from './demo-cards';

const counterparty = builtInCardTypes.find((type) => type.key === 'counterparty')!;
const WORDS = ['Альфа', 'Бета', 'Гамма', 'Дельта', 'Сигма', 'Омега', 'Вектор', 'Прогресс', 'Север', 'Восток', 'Гранит', 'Меридиан'];
/** The words of `WORDS` as a company spells them in its mail domain. */
const DOMAIN_WORDS = ['alfa', 'beta', 'gamma', 'delta', 'sigma', 'omega', 'vektor', 'progress', 'sever', 'vostok', 'granit', 'meridian'];
/** Area and mobile codes of generated phones (each followed by seven digits). */
const PHONE_CODES = ['495', '499', '812', '843', '846', '342', '383', '912', '916', '925'];
const CITIES = ['Москва', 'Казань', 'Тверь', 'Омск', 'Пермь', 'Самара'];
const TAGS = ['поставщик', 'партнёр', 'ключевой клиент', 'опт', 'розница'];
/** Documents per insert command. */
const BATCH = 20000;

type Id = Types.ObjectId;

/** Phone number `n` of ten million different ones, in the stored form («+7 495 123 45 67»). */
function phoneNumber(n: number): string {
  // Multiplying by a number coprime to 10⁷ deals the subscriber numbers out of order, each once.
  const subscriber = String((Math.floor(n / PHONE_CODES.length) * 3_141_593 + 1_000_003) % 10_000_000).padStart(7, '0');
  return `+7 ${PHONE_CODES[n % PHONE_CODES.length]} ${subscriber.slice(0, 3)} ${subscriber.slice(3, 5)} ${subscriber.slice(5)}`;
}

/** One company in this many has the phone and e-mail of the one before it (the same company entered twice under another INN). */
const SHARED_CONTACTS_EVERY = 250;
/** One company in this many sits in a business centre and gives its switchboard (with its own extension), … */
const SWITCHBOARD_EVERY = 200;
/** … one switchboard per this many companies: some 50 tenants share each, more than make a duplicate. */
const COMPANIES_PER_SWITCHBOARD = 10_000;

/**
 * The phone and e-mail of generated company `n`: its own (unique among the generated ones), except
 * for a realistic few — every `SHARED_CONTACTS_EVERY`th has those of the company before it (a real
 * duplicate), every `SWITCHBOARD_EVERY`th a business centre's switchboard with an extension.
 */
function contactsOf(n: number): { phone: string; email: string } {
  const own = n % SHARED_CONTACTS_EVERY === 1 ? n - 1 : n;
  const email = `office@${DOMAIN_WORDS[own % DOMAIN_WORDS.length]}-${own}.ru`;
  if (n % SWITCHBOARD_EVERY !== SWITCHBOARD_EVERY / 2) return { phone: phoneNumber(own), email };
  // Switchboards are the last of the ten million numbers, far from any company's own.
  return { phone: `${phoneNumber(10_000_000 - 1 - Math.floor(n / COMPANIES_PER_SWITCHBOARD))} доб. ${100 + (n % 900)}`, email };
}

/** A counterparty as the card service would store it (valid INN, canonical phone), for bulk loading. */
export function counterpartyDoc(n: number, place: { folderId: Id; libraryId: Id }, authorId: Id, at: Date) {
  const values = {
    name: `ООО «${WORDS[n % WORDS.length]}-${n}»`,
    inn: innFromStem(String(GENERATED_INN_STEM + n)),
    legalAddress: `${CITIES[n % CITIES.length]}, ул. Заводская, д. ${(n % 300) + 1}`,
    ...contactsOf(n),
    tags: [TAGS[n % TAGS.length]],
  };
  const title = renderTitle(counterparty, values, 'ru');
  return {
    _id: new Types.ObjectId(),
    typeKey: 'counterparty',
    folderId: place.folderId,
    libraryId: place.libraryId,
    title,
    values,
    ...searchIndexOf(counterparty, title, values),
    version: 1,
    // Bulk inserts skip schema defaults: every stored field is spelled out.
    inTrash: false,
    trashedAt: null,
    trashedBy: null,
    createdBy: authorId,
    updatedBy: authorId,
    createdAt: at,
    updatedAt: at,
    arrivedAt: at,
  };
}

/** A generated counterparty's INN: 1, its number in nine digits, a check digit. */
const GENERATED_INN_STEM = 100_000_000;

/**
 * Numbers counterparties after the highest one generated before, so INNs stay unique across runs —
 * also after a run that stopped half-way, whose unordered inserts left gaps (counting the cards
 * would number the next run into INNs already taken).
 */
async function firstNumber(): Promise<number> {
  // The unique INN index (type, INN; outside the trash) gives the highest first; a 12-digit INN typed by someone may come before.
  const highest = await Card.find({ typeKey: 'counterparty', inTrash: false, 'values.inn': { $gte: '1000000000', $lte: '1999999999' } }, { 'values.inn': 1 })
    .sort({ typeKey: -1, 'values.inn': -1 })
    .limit(50)
    .lean<{ values: { inn?: unknown } }[]>();
  const generated = highest.map((card) => String(card.values.inn)).find((inn) => /^1\d{9}$/.test(inn));
  return generated ? Number(generated.slice(0, 9)) - GENERATED_INN_STEM + 1 : 0;
}

/** Insert commands a load keeps in flight: the database works on one while the one before it is committed. */
const IN_FLIGHT = 2;

/**
 * Loads many cards: unordered bulk inserts through the driver, the indexes kept up to date as they
 * go (dropping them and building them once at the end did not pay on the built-in database: at
 * 100,000 cards 284 s and a 1.6 GB file against 199 s and 1.2 GB on a busy machine). Batches are
 * made while the database stores the ones before (`IN_FLIGHT`). `order` gives the card made at each
 * position (the identity by default): cards that share index ranges (one folder's) loaded together
 * touch fewer of the indexes' pages per batch, which at a million cards is most of the database's work.
 */
async function loadCards(
  count: number,
  makeDoc: (i: number) => ReturnType<typeof counterpartyDoc>,
  onProgress?: (done: number) => void,
  order: (position: number) => number = (position) => position,
): Promise<void> {
  const storing: { until: number; stored: Promise<unknown> }[] = [];
  for (let offset = 0; offset < count; offset += BATCH) {
    const until = Math.min(offset + BATCH, count);
    const batch = [];
    for (let p = offset; p < until; p += 1) batch.push(makeDoc(order(p)));
    if (storing.length === IN_FLIGHT) {
      const oldest = storing.shift()!;
      await oldest.stored;
      onProgress?.(oldest.until);
    }
    const stored = Card.collection.insertMany(batch, { ordered: false });
    // Awaited in turn below; a failure while an earlier batch is awaited is not an unhandled one.
    stored.catch(() => undefined);
    storing.push({ until, stored });
  }
  for (const { until, stored } of storing) {
    await stored;
    onProgress?.(until);
  }
}

async function administratorId(): Promise<Id> {
  const admin = await User.findOne({ loginKey: 'admin' }).lean();
  if (!admin) throw new Error('the administrator must exist before generating cards');
  return admin._id;
}

/**
 * Bulk-generates counterparties into one folder for benchmarks (bypassing the card service on
 * purpose: 100,000 cards through transactions would take most of an hour). Returns the folder's
 * id; the folder is readable by every user with `grantUserIds` full access.
 */
export async function generateCounterparties(options: {
  count: number;
  folderName: string;
  libraryName?: string;
  grantUserIds?: string[];
  onProgress?: (done: number) => void;
}): Promise<string> {
  const adminId = await administratorId();
  const libraryName = options.libraryName ?? 'Нагрузка';
  const library = (await Library.findOne({ name: libraryName })) ?? (await Library.create({ name: libraryName, order: 99 }));
  const folder = await Folder.create({
    libraryId: library._id,
    name: options.folderName,
    allowedCardTypes: ['counterparty'],
    defaultCardType: 'counterparty',
  });
  // Access is granted before the cards are loaded: a load that stops half-way (a database too busy
  // to answer) leaves cards its users see and a run after it can add to, not an invisible folder.
  const grants = (options.grantUserIds ?? []).map((id) => ({ principalType: 'user', principalId: new Types.ObjectId(id), level: 'full' }));
  if (grants.length > 0) await Folder.updateOne({ _id: folder._id }, { $set: { accessEntries: grants } });
  const first = await firstNumber();
  const started = Date.now();
  const place = { folderId: folder._id, libraryId: library._id };
  await loadCards(options.count, (i) => counterpartyDoc(first + i, place, adminId, new Date(started - (options.count - i) * 1000)), options.onProgress);
  return String(folder._id);
}

// ---------- the benchmark installation ----------

/** The size of a generated installation. */
export interface DatasetShape {
  cards: number;
  folders: number;
  users: number;
  /** Folders the benchmark reader may read (a group's entries on folders across libraries). */
  readerFolders: number;
}

/**
 * The generator's version, stored with an installation: `npm run bench:http` regenerates one made
 * by an older generator (2: cards carry their search words; 3: phones and e-mails of their own —
 * a phone repeated every 10,000 companies before —, a few shared as real duplicates and switchboards).
 */
export const GENERATOR = 3;

/** What a benchmark needs to know about the installation it runs on. */
export interface Dataset extends DatasetShape {
  generator: number;
  readerLogin: string;
  password: string;
  /** One of the reader's folders: the folder page. */
  pageFolderId: string;
  /** The reader's own folder (full access; `writerLogin` may edit it too), cards to update and open. */
  workFolderId: string;
  writerLogin: string;
  workCardIds: string[];
  /** Cards the reader has not read yet. */
  unread: number;
  generatedAt: string;
  generationSeconds: number;
}

export const BENCH_PASSWORD = 'kartoteka-bench';
const BENCH_READER = 'bench-reader';
const FOLDERS_PER_LIBRARY = 200;
const DEPARTMENTS = 20;
/** Cards in each of the reader's folders, and how many of them the reader has opened. */
const PER_READER_FOLDER = 255;
const OPENED_PER_READER_FOLDER = 5;
const WORK_CARDS = 200;

/**
 * The loading order of cards `from`…`count - 1` dealt in turn to `folders` folders (card `i` into
 * folder `(i - from) % folders`): each folder's cards one after another, the cards before `from` first.
 * The cards are the same whatever the order; it decides how many index pages a batch touches.
 */
function folderByFolder(from: number, count: number, folders: number): (position: number) => number {
  const dealt = count - from;
  if (dealt <= 0 || folders <= 1) return (position) => position;
  const fewer = Math.floor(dealt / folders);
  // The first `more` folders get one card more than the others.
  const more = dealt % folders;
  return (position) => {
    if (position < from) return position;
    const p = position - from;
    const inLarger = more * (fewer + 1);
    const folder = p < inLarger ? Math.floor(p / (fewer + 1)) : more + Math.floor((p - inLarger) / fewer);
    const nth = p < inLarger ? p % (fewer + 1) : (p - inLarger) % fewer;
    return from + folder + nth * folders;
  };
}

/**
 * A whole installation for `npm run bench:http`: departments, `users` users (one password hash for
 * all), libraries of 200 folders each with department and user entries, a group through which the
 * reader reads `readerFolders` folders spread over the libraries, and `cards` counterparties —
 * 255 in each of the reader's folders (250 unread for them: their watermark is older, 5 opened
 * one by one), 200 in the reader's own folder, the rest spread over the other folders.
 */
export async function generateDataset(shape: DatasetShape, onProgress?: (stage: string, done: number, of: number) => void): Promise<Dataset> {
  const started = Date.now();
  const adminId = await administratorId();
  const root = await Department.findOne({ parentId: null }).lean();
  const departments = await Department.insertMany(
    Array.from({ length: DEPARTMENTS }, (_, i) => ({ name: `Нагрузка: отдел ${i + 1}`, parentId: i < 4 ? (root?._id ?? null) : null })),
    { lean: true },
  );
  // Nested: every department after the fourth sits under one of the first four.
  await Department.bulkWrite(departments.slice(4).map((d, i) => ({ updateOne: { filter: { _id: d._id }, update: { $set: { parentId: departments[i % 4]._id } } } })));
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  const users = await User.insertMany(
    Array.from({ length: shape.users }, (_, i) => {
      const login = i === 0 ? BENCH_READER : `bench-user-${i}`;
      return {
        login,
        loginKey: login,
        fullName: i === 0 ? 'Читатель нагрузки' : `Сотрудник ${i}`,
        email: '',
        departmentId: departments[i % DEPARTMENTS]._id,
        passwordHash,
        active: true,
        locale: 'ru',
        ipAllowList: [],
      };
    }),
    { lean: true },
  );
  onProgress?.('users', shape.users, shape.users);
  const reader = users[0];
  const readers = await Group.create({ name: 'Нагрузка: читатели', memberIds: [reader._id, ...users.slice(1, 40).map((u) => u._id)] });

  const libraryCount = Math.ceil(shape.folders / FOLDERS_PER_LIBRARY);
  const libraries = await Library.insertMany(
    Array.from({ length: libraryCount }, (_, i) => ({
      name: `Нагрузка ${i + 1}`,
      order: 100 + i,
      accessEntries: [{ principalType: 'department', principalId: departments[1 + (i % (DEPARTMENTS - 1))]._id, includeSubdepartments: true, level: 'read' }],
    })),
    { lean: true },
  );
  const readerEvery = Math.max(1, Math.floor(shape.folders / shape.readerFolders));
  const folderDocs = Array.from({ length: shape.folders }, (_, i) => {
    const library = libraries[Math.floor(i / FOLDERS_PER_LIBRARY)];
    const readerFolder = i % readerEvery === 0 && i / readerEvery < shape.readerFolders;
    return {
      _id: new Types.ObjectId(),
      libraryId: library._id,
      parentId: null as Id | null,
      name: `Папка ${i + 1}`,
      order: i % FOLDERS_PER_LIBRARY,
      inheritsAccess: i % 7 !== 0,
      allowedCardTypes: [],
      defaultCardType: null,
      accessEntries: [
        { principalType: 'user', principalId: users[1 + (i % (shape.users - 1))]._id, includeSubdepartments: false, level: 'full' },
        { principalType: 'department', principalId: departments[i % DEPARTMENTS]._id, includeSubdepartments: false, level: 'edit' },
        ...(readerFolder ? [{ principalType: 'group', principalId: readers._id, includeSubdepartments: false, level: 'read' }] : []),
      ],
      readerFolder,
    };
  });
  // Every tenth folder is a sub-folder of the one before it (same library).
  for (let i = 1; i < folderDocs.length; i += 1) if (i % 10 === 0 && folderDocs[i].libraryId === folderDocs[i - 1].libraryId) folderDocs[i].parentId = folderDocs[i - 1]._id;
  const work = {
    _id: new Types.ObjectId(),
    libraryId: libraries[0]._id,
    parentId: null,
    name: 'Рабочая папка читателя',
    order: 0,
    inheritsAccess: false,
    allowedCardTypes: [],
    defaultCardType: null,
    accessEntries: [
      { principalType: 'user', principalId: reader._id, includeSubdepartments: false, level: 'full' },
      { principalType: 'user', principalId: users[1]._id, includeSubdepartments: false, level: 'edit' },
    ],
  };
  await Folder.insertMany([...folderDocs.map(({ readerFolder: _, ...doc }) => doc), work], { lean: true });
  onProgress?.('folders', shape.folders, shape.folders);

  const readerFolderDocs = folderDocs.filter((f) => f.readerFolder);
  const otherFolders = folderDocs.filter((f) => !f.readerFolder);
  const inReaderFolders = Math.min(readerFolderDocs.length * PER_READER_FOLDER, Math.max(0, shape.cards - WORK_CARDS));
  const first = await firstNumber();
  // The reader last read their folders an hour before the first generated change.
  const base = started - shape.cards * 10 - 60_000;
  const watermark = new Date(base - 3_600_000);
  const opened: { folderId: Id; cardId: Id; at: Date }[] = [];
  const workCards: Id[] = [];
  await loadCards(
    shape.cards,
    (i) => {
      const at = new Date(base + i * 10);
      if (i < WORK_CARDS) {
        const doc = counterpartyDoc(first + i, { folderId: work._id, libraryId: work.libraryId }, adminId, at);
        workCards.push(doc._id);
        return doc;
      }
      const j = i - WORK_CARDS;
      const folder = j < inReaderFolders ? readerFolderDocs[Math.floor(j / PER_READER_FOLDER)] : otherFolders[(j - inReaderFolders) % otherFolders.length];
      const doc = counterpartyDoc(first + i, { folderId: folder._id, libraryId: folder.libraryId }, users[1 + (i % (shape.users - 1))]._id, at);
      if (j < inReaderFolders && j % PER_READER_FOLDER < OPENED_PER_READER_FOLDER) opened.push({ folderId: folder._id, cardId: doc._id, at });
      return doc;
    },
    (done) => onProgress?.('cards', done, shape.cards),
    folderByFolder(WORK_CARDS + inReaderFolders, shape.cards, otherFolders.length),
  );

  const readerId = String(reader._id);
  await Read.insertMany(
    [
      ...readerFolderDocs.map((f) => ({ _id: folderReadKey(readerId, String(f._id)), userId: reader._id, folderId: f._id, cardId: null, readUpTo: watermark, unread: null })),
      ...opened.map((o) => ({ _id: cardReadKey(readerId, String(o.cardId)), userId: reader._id, folderId: o.folderId, cardId: o.cardId, readUpTo: o.at, unread: null })),
    ],
    { lean: true },
  );
  onProgress?.('marks', readerFolderDocs.length + opened.length, readerFolderDocs.length + opened.length);
  return {
    ...shape,
    generator: GENERATOR,
    readerLogin: BENCH_READER,
    writerLogin: users[1].login,
    password: BENCH_PASSWORD,
    pageFolderId: String(readerFolderDocs[0]._id),
    workFolderId: String(work._id),
    workCardIds: workCards.map(String),
    unread: inReaderFolders - opened.length,
    generatedAt: new Date().toISOString(),
    generationSeconds: (Date.now() - started) / 1000,
  };
}
