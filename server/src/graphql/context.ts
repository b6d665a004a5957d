import type { DefaultState, Context as KoaContext } from 'koa';
import type { Actor } from '../access/actor';
import type { Config } from '../config';
import type { DatabaseKind } from '../db/connect';
import { localeFromHeader, type Locale } from '../i18n';
import type { Logger } from '../logger';

/** What every resolver receives; built once per request. */
export interface GraphQLContext {
  requestId: string;
  logger: Logger;
  config: Config;
  databaseKind: DatabaseKind;
  /** Client address (X-Forwarded-For honoured only with TRUST_PROXY). */
  ip: string;
  userAgent: string;
  locale: Locale;
  /** The session middleware's result (people/auth.ts types it on Koa's state). */
  auth: DefaultState['auth'];
  /** The signed-in user with their ability, built on first use within the request. */
  actor(): Promise<Actor>;
  koa: KoaContext;
}

/** The language of a request: the signed-in user's, else the browser's (Russian by default). */
export function requestLocale(koa: KoaContext): Locale {
  const user = koa.state.auth?.user;
  if (user) return user.locale === 'en' ? 'en' : 'ru';
  return localeFromHeader(koa.get('accept-language'));
}
