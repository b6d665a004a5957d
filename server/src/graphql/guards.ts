import type { Actor } from '../access/actor';
import { AppError } from '../errors';
import { message } from '../i18n';
import type { GraphQLContext } from './context';

/** The signed-in actor, or UNAUTHENTICATED / FORBIDDEN (address outside the allow-list). */
export async function requireActor(context: GraphQLContext): Promise<Actor> {
  const { user, addressRefused } = context.auth;
  if (!user) throw new AppError('UNAUTHENTICATED', message(context.locale, 'unauthenticated'));
  if (addressRefused) throw new AppError('FORBIDDEN', message(context.locale, 'ipRefused', { ip: context.ip }));
  return context.actor();
}

export async function requireAdmin(context: GraphQLContext): Promise<Actor> {
  const actor = await requireActor(context);
  if (!actor.isAdmin) throw new AppError('FORBIDDEN', message(actor.locale, 'adminOnly'));
  return actor;
}
