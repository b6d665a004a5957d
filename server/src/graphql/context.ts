import type { Context as KoaContext } from 'koa';
import type { Config } from '../config';
import type { DatabaseKind } from '../db/connect';
import type { Logger } from '../logger';

/** What every resolver receives; built once per request. */
export interface GraphQLContext {
  requestId: string;
  logger: Logger;
  config: Config;
  databaseKind: DatabaseKind;
  /** Client address (X-Forwarded-For honoured only with TRUST_PROXY). */
  ip: string;
  koa: KoaContext;
}
