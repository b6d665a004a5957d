import type { AnyBulkWriteOperation, ObjectId } from 'mongodb';
import { accessTreeOf, folderLevelsFor, type StoredEntry } from '../access/effective-access';
import type { Logger } from '../logger';
import type { Db, MigrationStep } from './step';

const BATCH = 1000;

/** A read-state entry as unread/model.ts stores it. */
type ReadRow = {
  _id: string;
  userId: ObjectId;
  folderId: ObjectId;
  cardId: ObjectId | null;
  readUpTo: Date | null;
  unread: { asNew: boolean; changedFields: string[]; since: Date } | null;
};
type ReadWrite = AnyBulkWriteOperation<ReadRow>;

async function writeReads(db: Db, operations: Iterable<ReadWrite> | AsyncIterable<ReadWrite>): Promise<number> {
  let batch: ReadWrite[] = [];
  let written = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await db.collection<ReadRow>('reads').bulkWrite(batch, { ordered: false });
    written += batch.length;
    batch = [];
  };
  for await (const operation of operations) {
    batch.push(operation);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return written;
}

type FolderRow = { _id: ObjectId; libraryId: ObjectId; parentId?: ObjectId | null; name: string; inheritsAccess?: boolean; accessEntries?: StoredEntry[] };
type LibraryRow = { _id: ObjectId; name: string; accessEntries?: StoredEntry[] };
type UserRow = { _id: ObjectId; departmentId: ObjectId };
type MarkRow = { userId: ObjectId; cardId: ObjectId; folderId: ObjectId; newToUser?: boolean; changedFields?: string[]; since?: Date };

/**
 * Unread marks (one per reader and unread card) become the read state of watermarks and
 * receipts (server/src/unread/model.ts). Every user has read, as of now, every folder they can
 * read — except the cards they had marked unread, which keep being shown unread with the same
 * "new" flag and changed fields. Cards also learn their folder's current library (folders moved
 * between libraries left it behind). Safe to run again: entries are only inserted, never
 * overwritten, and the marks are dropped last.
 */
async function up(db: Db, logger: Logger): Promise<void> {
  const now = new Date();
  const [libraries, folders, departments, groups, users] = await Promise.all([
    db
      .collection<LibraryRow>('libraries')
      .find({}, { projection: { name: 1, accessEntries: 1 } })
      .toArray(),
    db
      .collection<FolderRow>('folders')
      .find({}, { projection: { libraryId: 1, parentId: 1, name: 1, inheritsAccess: 1, accessEntries: 1 } })
      .toArray(),
    db
      .collection<{ _id: ObjectId; parentId?: ObjectId | null }>('departments')
      .find({}, { projection: { parentId: 1 } })
      .toArray(),
    db
      .collection<{ _id: ObjectId; memberIds?: ObjectId[]; systemRole?: string | null }>('groups')
      .find({}, { projection: { memberIds: 1, systemRole: 1 } })
      .toArray(),
    db
      .collection<UserRow>('users')
      .find({}, { projection: { departmentId: 1 } })
      .toArray(),
  ]);

  for (const folder of folders) {
    await db.collection('cards').updateMany({ folderId: folder._id, libraryId: { $ne: folder.libraryId } }, { $set: { libraryId: folder.libraryId } });
  }

  const marks = db.collection<MarkRow>('unread').find({});
  async function* receiptsOfMarks(): AsyncGenerator<ReadWrite> {
    for await (const mark of marks) {
      yield {
        updateOne: {
          filter: { _id: `c:${String(mark.userId)}:${String(mark.cardId)}` },
          update: {
            $setOnInsert: {
              userId: mark.userId,
              cardId: mark.cardId,
              folderId: mark.folderId,
              readUpTo: null,
              unread: { asNew: Boolean(mark.newToUser), changedFields: mark.changedFields ?? [], since: mark.since ?? now },
            },
          },
          upsert: true,
        },
      };
    }
  }
  const receipts = await writeReads(db, receiptsOfMarks());

  const tree = accessTreeOf(libraries, folders);
  const folderIds = new Map(folders.map((f) => [String(f._id), f._id]));
  const parentOf = new Map(departments.map((d) => [String(d._id), d.parentId ? String(d.parentId) : null]));
  const administrators = new Set(groups.filter((g) => g.systemRole === 'administrators').flatMap((g) => (g.memberIds ?? []).map(String)));
  function* watermarks(): Generator<ReadWrite> {
    for (const user of users) {
      const userId = String(user._id);
      const ancestors: string[] = [];
      for (let d = parentOf.get(String(user.departmentId)) ?? null; d && !ancestors.includes(d); d = parentOf.get(d) ?? null) ancestors.push(d);
      const groupIds = groups.filter((g) => (g.memberIds ?? []).some((m) => String(m) === userId)).map((g) => String(g._id));
      const readable = administrators.has(userId)
        ? tree.folders.map((f) => f.id)
        : [...folderLevelsFor(tree, { userId, departmentId: String(user.departmentId), departmentAncestorIds: ancestors, groupIds }).keys()];
      for (const folderId of readable) {
        yield {
          updateOne: {
            filter: { _id: `f:${userId}:${folderId}` },
            update: { $setOnInsert: { userId: user._id, folderId: folderIds.get(folderId), cardId: null, readUpTo: now, unread: null } },
            upsert: true,
          },
        };
      }
    }
  }
  const written = await writeReads(db, watermarks());
  if ((await db.listCollections({ name: 'unread' }).toArray()).length > 0) await db.dropCollection('unread');
  logger.info({ receipts, watermarks: written }, 'unread marks converted to watermarks and receipts');
}

export const readStateStep: Omit<MigrationStep, 'version'> = { name: 'unread marks become watermarks and receipts', up };
