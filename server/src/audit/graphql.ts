import { Types } from 'mongoose';
import type { GraphQLModule } from '../graphql/module';
import { requireAdmin } from '../graphql/guards';
import { objectIdArgument, pageSize, refuseField, searchText } from '../validation';
import { AuditEntry } from './model';

interface AuditArgs {
  kind?: string;
  userId?: string;
  from?: Date;
  to?: Date;
  first: number;
  after?: string;
}

type AuditRow = { _id: Types.ObjectId; actorId?: Types.ObjectId | null };

export const auditModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    type AuditEntry {
      id: ID!
      at: DateTime!
      kind: String!
      actorId: ID
      actorLogin: String!
      ip: String!
      targetType: String!
      targetId: String!
      summary: String!
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
          AuditEntry.find(page).sort({ _id: -1 }).limit(limit + 1).lean<AuditRow[]>(),
          AuditEntry.countDocuments(filter),
        ]);
        const edges = rows.slice(0, limit).map((node) => ({ node, cursor: String(node._id) }));
        return { edges, totalCount, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null } };
      },
    },
    AuditEntry: {
      id: (e: AuditRow) => String(e._id),
      actorId: (e: AuditRow) => (e.actorId ? String(e.actorId) : null),
    },
  },
};
