import { packedRules } from '../access/ability';
import type { GraphQLModule } from '../graphql/module';
import { requireActor, requireAdmin } from '../graphql/guards';
import { accessSnapshot } from '../access/snapshot';
import type { GraphQLContext } from '../graphql/context';
import { AppError } from '../errors';
import { message, type Locale } from '../i18n';
import { rememberSignInDevice, sessionCookieOptions, signInDeviceOf } from './auth';
import { Department, Group, User, type DepartmentDoc, type GroupDoc, type UserDoc } from './models';
import * as people from './service';
import { endSession, SESSION_COOKIE } from './sessions';
import { recordAudit } from '../audit/service';
import { escapeRegExp, isObjectIdText, objectIdArgument, refuseField, searchText } from '../validation';

type Id = { id: string };

export const peopleModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    enum Locale { ru en }

    type Department {
      id: ID!
      name: String!
      parentId: ID
      "Addresses or subnets its users may sign in from (administrators only)."
      ipAllowList: [String!]
    }

    "Everyone signed in sees colleagues' names and departments; the rest is for administrators and the user themself (null otherwise)."
    type User {
      id: ID!
      fullName: String!
      department: Department
      login: String
      email: String
      active: Boolean
      locale: Locale
      "Administrators only."
      ipAllowList: [String!]
      groups: [Group!]
    }

    type Group {
      id: ID!
      name: String!
      "administrators or history-readers for the system groups."
      systemRole: String
      "Administrators only (null otherwise)."
      members: [User!]
    }

    "The signed-in user with what they may do."
    type Viewer {
      user: User!
      isAdmin: Boolean!
      isHistoryReader: Boolean!
      "CASL rules in packed form, for the client's ability."
      rules: JSON!
    }

    input DepartmentInput { name: String, parentId: ID, ipAllowList: [String!] }
    input CreateUserInput { login: String!, fullName: String!, password: String!, email: String, departmentId: ID!, locale: Locale, ipAllowList: [String!] }
    input UpdateUserInput { login: String, fullName: String, email: String, departmentId: ID, locale: Locale, ipAllowList: [String!] }

    extend type Query {
      "Null when not signed in."
      viewer: Viewer
      departments: [Department!]!
      "Active users (all of them for administrators with includeInactive), or the users with these ids (at most 200, deactivated ones too: their names stay on cards), in that order."
      users(departmentId: ID, search: String, includeInactive: Boolean = false, ids: [ID!]): [User!]!
      user(id: ID!): User
      groups: [Group!]!
    }

    extend type Mutation {
      signIn(login: String!, password: String!): Viewer!
      signOut: Boolean!
      changePassword(oldPassword: String!, newPassword: String!): Boolean!
      setMyLocale(locale: Locale!): User!

      createDepartment(input: DepartmentInput!): Department!
      updateDepartment(id: ID!, input: DepartmentInput!): Department!
      deleteDepartment(id: ID!): Boolean!
      createUser(input: CreateUserInput!): User!
      updateUser(id: ID!, input: UpdateUserInput!): User!
      setUserActive(id: ID!, active: Boolean!): User!
      resetPassword(id: ID!, newPassword: String!): Boolean!
      createGroup(name: String!): Group!
      renameGroup(id: ID!, name: String!): Group!
      changeGroupMembers(id: ID!, add: [ID!] = [], remove: [ID!] = []): Group!
    }
  `,
  resolvers: {
    Query: {
      viewer: async (_p, _a, context) => (context.auth.user && !context.auth.addressRefused ? viewerOf(context) : null),
      departments: async (_p, _a, context) => {
        await requireActor(context);
        return Department.find().sort({ name: 1 }).lean();
      },
      users: async (_p, args: { departmentId?: string; search?: string; includeInactive: boolean; ids?: string[] | null }, context) => {
        const actor = await requireActor(context);
        if (args.ids) {
          if (args.ids.length > 200) refuseField(actor.locale, 'ids', 'tooMany', { max: 200 });
          if (!args.ids.every(isObjectIdText)) refuseField(actor.locale, 'ids', 'badId');
          const found = new Map((await User.find({ _id: { $in: args.ids } }).lean()).map((user) => [String(user._id), user]));
          return args.ids.map((id) => found.get(id.toLowerCase())).filter((user) => user !== undefined);
        }
        // Staff see active colleagues only; deactivated accounts are the administrators' business.
        const filter: Record<string, unknown> = args.includeInactive && actor.isAdmin ? {} : { active: true };
        if (args.departmentId) filter.departmentId = objectIdArgument(actor.locale, 'departmentId', args.departmentId);
        const search = searchText(actor.locale, 'search', args.search ?? '', 100);
        if (search) {
          const pattern = new RegExp(escapeRegExp(search), 'i');
          filter.$or = [{ fullName: pattern }, { login: pattern }];
        }
        return User.find(filter).sort({ fullName: 1 }).limit(500).lean();
      },
      user: async (_p, { id }: Id, context) => {
        await requireActor(context);
        return User.findById(id)
          .lean()
          .catch(() => null);
      },
      groups: async (_p, _a, context) => {
        await requireActor(context);
        return Group.find().sort({ systemRole: -1, name: 1 }).lean();
      },
    },
    Mutation: {
      signIn: async (_p, args: { login: string; password: string }, context) => {
        // A Secure cookie cannot be set over plain HTTP: say so instead of failing after the password check.
        if (sessionCookieOptions(context.config).secure && !context.koa.secure) {
          throw new AppError('FORBIDDEN', message(context.locale, 'httpsRequired'), { reason: 'HTTPS_REQUIRED' });
        }
        const { token, user, device } = await people.signIn({
          ...args,
          ip: context.ip,
          userAgent: context.userAgent,
          locale: context.locale,
          logger: context.logger,
          device: signInDeviceOf(context.koa),
        });
        context.koa.cookies.set(SESSION_COOKIE, token, sessionCookieOptions(context.config));
        rememberSignInDevice(context.koa, context.config, device);
        // In place: the request's actor() reads this same object.
        Object.assign(context.auth, { user, sessionToken: token, sessionId: null, sessionExpiresAt: null, addressRefused: false });
        return viewerOf(context);
      },
      signOut: async (_p, _a, context) => {
        const { sessionToken, user } = context.auth;
        if (sessionToken) await endSession(sessionToken);
        if (user) await recordAudit({ userId: user._id, login: user.login, ip: context.ip }, { kind: 'sign-out' });
        context.koa.cookies.set(SESSION_COOKIE, null, { signed: true });
        return true;
      },
      changePassword: async (_p, args: { oldPassword: string; newPassword: string }, context) => {
        await people.changeOwnPassword(await requireActor(context), args.oldPassword, args.newPassword, context.auth.sessionToken);
        return true;
      },
      setMyLocale: async (_p, { locale }: { locale: Locale }, context) => {
        const actor = await requireActor(context);
        await people.setOwnLocale(actor, locale);
        return User.findById(actor.userId).lean();
      },
      createDepartment: async (_p, { input }: { input: people.DepartmentInput }, context) => people.createDepartment(await requireAdmin(context), input),
      updateDepartment: async (_p, { id, input }: Id & { input: people.DepartmentInput }, context) => people.updateDepartment(await requireAdmin(context), id, input),
      deleteDepartment: async (_p, { id }: Id, context) => people.deleteDepartment(await requireAdmin(context), id),
      createUser: async (_p, { input }: { input: people.UserInput }, context) => people.createUser(await requireAdmin(context), input),
      updateUser: async (_p, { id, input }: Id & { input: people.UserInput }, context) => people.updateUser(await requireAdmin(context), id, input),
      setUserActive: async (_p, { id, active }: Id & { active: boolean }, context) => people.setUserActive(await requireAdmin(context), id, active),
      resetPassword: async (_p, { id, newPassword }: Id & { newPassword: string }, context) => {
        await people.resetPassword(await requireAdmin(context), id, newPassword);
        return true;
      },
      createGroup: async (_p, { name }: { name: string }, context) => people.createGroup(await requireAdmin(context), name),
      renameGroup: async (_p, { id, name }: Id & { name: string }, context) => people.renameGroup(await requireAdmin(context), id, name),
      changeGroupMembers: async (_p, args: Id & { add: string[] | null; remove: string[] | null }, context) =>
        people.changeGroupMembers(await requireAdmin(context), args.id, args.add, args.remove),
    },
    Department: {
      id: (d: DepartmentDoc) => String(d._id),
      parentId: (d: DepartmentDoc) => (d.parentId ? String(d.parentId) : null),
      ipAllowList: async (d: DepartmentDoc, _a, context) => ((await context.actor()).isAdmin ? d.ipAllowList : null),
    },
    User: {
      id: (u: UserDoc) => String(u._id),
      department: async (u: UserDoc) => (await accessSnapshot()).departments.get(String(u.departmentId)) ?? null,
      login: async (u: UserDoc, _a, context) => ((await seesAccountOf(context, u)) ? u.login : null),
      email: async (u: UserDoc, _a, context) => ((await seesAccountOf(context, u)) ? u.email : null),
      active: async (u: UserDoc, _a, context) => ((await seesAccountOf(context, u)) ? u.active : null),
      locale: async (u: UserDoc, _a, context) => ((await seesAccountOf(context, u)) ? u.locale : null),
      ipAllowList: async (u: UserDoc, _a, context) => ((await context.actor()).isAdmin ? u.ipAllowList : null),
      groups: async (u: UserDoc, _a, context) => ((await seesAccountOf(context, u)) ? Group.find({ memberIds: u._id }).sort({ name: 1 }).lean() : null),
    },
    Group: {
      id: (g: GroupDoc) => String(g._id),
      members: async (g: GroupDoc, _a, context) =>
        (await context.actor()).isAdmin
          ? User.find({ _id: { $in: g.memberIds } })
              .sort({ fullName: 1 })
              .lean()
          : null,
    },
  },
};

/**
 * Staff see colleagues' names and departments only: logins, e-mails, groups (who the administrators
 * are) and account state are for administrators and for the user themself.
 */
async function seesAccountOf(context: GraphQLContext, user: UserDoc): Promise<boolean> {
  const actor = await context.actor();
  return actor.isAdmin || actor.userId === String(user._id);
}

async function viewerOf(context: GraphQLContext) {
  const actor = await context.actor();
  return {
    user: context.auth.user,
    isAdmin: actor.isAdmin,
    isHistoryReader: actor.isHistoryReader,
    rules: packedRules(actor.ability),
  };
}
