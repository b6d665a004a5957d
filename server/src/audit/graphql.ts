import mongoose, { Types } from 'mongoose';
import { Department, Folder, Group, Library, User } from '../access/structure';
import type { GraphQLModule } from '../graphql/module';
import { requireAdmin } from '../graphql/guards';
import { objectIdArgument, pageSize, refuseField, searchText } from '../validation';
import { auditDetails, describeAuditKinds } from './describe';
import { AuditEntry } from './model';
import type { Locale } from '../i18n';

interface AuditArgs {
  kind?: string;
  userId?: string;
  from?: Date;
  to?: Date;
  first: number;
  after?: string;
}

type AuditRow = { _id: Types.ObjectId; kind: string; actorId?: Types.ObjectId | null; targetType: string; targetId: string; before?: unknown; after?: unknown };
type NamedRow = AuditRow & { actorName: string | null; targetName: string | null; targetExists: boolean; details: string | null };

type Named = { _id: unknown; name: string };
type NameLookup = (ids: string[]) => Promise<Named[]>;

/** Cards' titles (the model is looked up by name: the cards module records audit entries itself). */
async function cardTitles(ids: string[]): Promise<Named[]> {
  return (
    await mongoose
      .model('Card')
      .find({ _id: { $in: ids } }, { title: 1 })
      .lean<{ _id: unknown; title: string }[]>()
  ).map((card) => ({ _id: card._id, name: card.title }));
}

/** Where the current name of each kind of target is read. */
const NAMED_TARGETS: Record<string, NameLookup> = {
  User: async (ids) =>
    (await User.find({ _id: { $in: ids } }, { fullName: 1 }).lean<{ _id: unknown; fullName: string }[]>()).map((user) => ({ _id: user._id, name: user.fullName })),
  Department: (ids) => Department.find({ _id: { $in: ids } }, { name: 1 }).lean<Named[]>(),
  Group: (ids) => Group.find({ _id: { $in: ids } }, { name: 1 }).lean<Named[]>(),
  Library: (ids) => Library.find({ _id: { $in: ids } }, { name: 1 }).lean<Named[]>(),
  Folder: (ids) => Folder.find({ _id: { $in: ids } }, { name: 1 }).lean<Named[]>(),
  Card: cardTitles,
  // Entries about files written before cards were named `Card`.
  card: cardTitles,
};

const recordedName = (value: unknown): string | null => {
  const name = value && typeof value === 'object' ? ((value as { name?: unknown; fullName?: unknown }).name ?? (value as { fullName?: unknown }).fullName) : null;
  return typeof name === 'string' ? name : null;
};

/**
 * The names a page of entries is about: each actor's and target's current name, read with one
 * query per kind of target for the page's ids (a page costs the same however long the log is).
 * A target that no longer exists keeps the name recorded with the entry, and says so.
 */
async function withNames(rows: AuditRow[], locale: Locale): Promise<NamedRow[]> {
  const idsByType = new Map<string, Set<string>>();
  const want = (type: string, id: string) => {
    if (Object.hasOwn(NAMED_TARGETS, type) && Types.ObjectId.isValid(id)) idsByType.set(type, (idsByType.get(type) ?? new Set()).add(id));
  };
  for (const row of rows) {
    if (row.actorId) want('User', String(row.actorId));
    want(row.targetType, row.targetId);
  }
  const names = new Map<string, string>();
  const [details] = await Promise.all([
    auditDetails(rows, locale),
    ...[...idsByType].map(async ([type, ids]) => {
      for (const doc of await NAMED_TARGETS[type]([...ids])) names.set(`${type}:${String(doc._id)}`, doc.name);
    }),
  ]);
  return rows.map((row, index) => {
    const current = names.get(`${row.targetType}:${row.targetId}`);
    return {
      ...row,
      actorName: row.actorId ? (names.get(`User:${String(row.actorId)}`) ?? null) : null,
      targetName: current ?? recordedName(row.after) ?? recordedName(row.before),
      targetExists: current !== undefined,
      details: details[index],
    };
  });
}

const memberIds = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

// A group's members before and after: who joined and who left, by name (one query for the page).
describeAuditKinds(['group-members-changed'], async (entries, locale) => {
  const changes = entries.map((entry) => {
    const before = new Set(memberIds(entry.before));
    const after = new Set(memberIds(entry.after));
    return { added: [...after].filter((id) => !before.has(id)), removed: [...before].filter((id) => !after.has(id)) };
  });
  const ids = [...new Set(changes.flatMap((change) => [...change.added, ...change.removed]))].filter((id) => Types.ObjectId.isValid(id));
  const users = new Map(
    (await User.find({ _id: { $in: ids } }, { fullName: 1, login: 1 }).lean<{ _id: unknown; fullName: string; login: string }[]>()).map((user) => [
      String(user._id),
      `${user.fullName} (${user.login})`,
    ]),
  );
  const named = (list: string[]) => list.map((id) => users.get(id) ?? id).join(', ');
  const words = locale === 'ru' ? { added: 'Добавлены', removed: 'Исключены' } : { added: 'Added', removed: 'Removed' };
  return changes.map(({ added, removed }) => {
    const parts = [...(added.length > 0 ? [`${words.added}: ${named(added)}`] : []), ...(removed.length > 0 ? [`${words.removed}: ${named(removed)}`] : [])];
    return parts.length > 0 ? parts.join('; ') : null;
  });
});

export const auditModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    type AuditEntry {
      id: ID!
      at: DateTime!
      kind: String!
      actorId: ID
      actorLogin: String!
      "The actor's current full name; null when the user no longer exists (actorLogin stays)."
      actorName: String
      ip: String!
      targetType: String!
      targetId: String!
      "The target's current name (a user's full name); for one that no longer exists, the name recorded with the entry; null when neither is known."
      targetName: String
      "The target still exists (so a link to it leads somewhere)."
      targetExists: Boolean!
      summary: String!
      "What before and after recorded, in words, for the kinds that say more than the summary (an export's filter or search, who joined or left a group); null otherwise."
      details: String
      before: JSON
      after: JSON
    }
    type AuditEntryEdge { node: AuditEntry!, cursor: String! }
    type PageInfo { hasNextPage: Boolean!, endCursor: String }
    type AuditConnection { edges: [AuditEntryEdge!]!, pageInfo: PageInfo!, totalCount: Int! }

    extend type Query {
      "Administrators only; newest first."
      auditLog(kind: String, userId: ID, from: DateTime, to: DateTime, first: Int = 50, after: String): AuditConnection!
    }
  `,
  resolvers: {
    Query: {
      auditLog: async (_p, args: AuditArgs, context) => {
        const { locale } = await requireAdmin(context);
        const filter: Record<string, unknown> = {};
        if (args.kind) filter.kind = searchText(locale, 'kind', args.kind, 64);
        if (args.userId) filter.actorId = objectIdArgument(locale, 'userId', args.userId);
        if (args.from || args.to) filter.at = { ...(args.from && { $gte: args.from }), ...(args.to && { $lte: args.to }) };
        const limit = pageSize(args.first, 200);
        // The cursor is the last entry's id.
        if (args.after && !/^[0-9a-f]{24}$/.test(args.after)) refuseField(locale, 'after', 'badCursor');
        const page = { ...filter, ...(args.after && { _id: { $lt: new Types.ObjectId(args.after) } }) };
        const [rows, totalCount] = await Promise.all([
          AuditEntry.find(page)
            .sort({ _id: -1 })
            .limit(limit + 1)
            .lean<AuditRow[]>(),
          AuditEntry.countDocuments(filter),
        ]);
        const edges = (await withNames(rows.slice(0, limit), locale)).map((node) => ({ node, cursor: String(node._id) }));
        return { edges, totalCount, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null } };
      },
    },
    AuditEntry: {
      id: (e: AuditRow) => String(e._id),
      actorId: (e: AuditRow) => (e.actorId ? String(e.actorId) : null),
    },
  },
};
