import Router from '@koa/router';
import Koa from 'koa';
import type { Config } from './config';
import { pingDatabase, type Database } from './db/connect';
import type { GraphQLModule } from './graphql/module';
import { createGraphQLServer } from './graphql/yoga';
import { bodyLimit, requestContext, requestWithBody } from './http/request-context';
import { serveClient } from './http/static';
import { securityHeaders as withSecurityHeaders } from './http/security-headers';
import { limitRequestQueries } from './graphql/query-time-limit';
import { asAccessRequest } from './access/changes';
import { useOperationKind } from './access/operation-kind';
import { requestsInFlightPerUser } from './http/requests-in-flight';
import type { Logger } from './logger';
import { systemModule } from './system/graphql';
import { scalarsModule } from './graphql/scalars';
import { peopleModule } from './people/graphql';
import { foldersModule } from './folders/graphql';
import { auditModule } from './audit/graphql';
import { cardsModule } from './cards/graphql';
import { pluginGraphQLModules } from './cards/plugin-graphql';
import { unreadModule } from './unread/graphql';
import { historyModule } from './history/graphql';
import { jobsModule } from './jobs/graphql';
import { preferencesModule } from './preferences/graphql';
import { backupModule } from './backup/graphql';
import { duplicatesModule } from './duplicates/graphql';
import { backupRoutes } from './backup/routes';
import { transferModule } from './transfer/graphql';
import { transferRoutes } from './transfer/routes';
import { countCardsRead, useReadAlarm } from './transfer/read-alarm';
import { fileRoutes, FILES_PATH } from './files/routes';
import { filesModule } from './files/graphql';
import { useMaintenanceGuard } from './backup/maintenance';
import { addressAllowedIn, sessionMiddleware } from './people/auth';
import { accessSnapshot, type SnapshotUser } from './access/snapshot';
import { AppError } from './errors';
import { message, type Locale } from './i18n';
import { buildActor, type Actor } from './access/actor';
import { requestLocale } from './graphql/context';
import { metricsEndpoint, type Metrics } from './metrics/metrics';
import { useCursorSecret } from './cards/cursor';

export const graphqlModules: GraphQLModule[] = [
  scalarsModule,
  systemModule,
  peopleModule,
  foldersModule,
  auditModule,
  cardsModule,
  unreadModule,
  historyModule,
  jobsModule,
  preferencesModule,
  backupModule,
  transferModule,
  filesModule,
  duplicatesModule,
];

/** The Koa application; the middleware order below is the request's path through the server. */
/**
 * The actor of a signed-in request, refused when the access snapshot it is built on refuses the user
 * (deactivated) or their address: a GraphQL request's session was checked while its operation was
 * unknown, perhaps on the previous snapshot; a mutation's actor is built on the latest one, so an
 * allow-list narrowed a moment ago stops the write (s17 re-attack: writes passed for ~1 s).
 */
async function actorAtAddress(user: SnapshotUser, ip: string, locale: Locale): Promise<Actor> {
  const built = await buildActor(user, ip);
  const snapshot = await accessSnapshot();
  const current = snapshot.users.get(built.userId);
  if (!current?.active) throw new AppError('UNAUTHENTICATED', message(locale, 'unauthenticated'));
  if (!addressAllowedIn(snapshot, current, ip)) throw new AppError('FORBIDDEN', message(locale, 'ipRefused', { ip }));
  return built;
}

export function createApp(options: { config: Config; logger: Logger; database: Database; clientDist: string; metrics?: Metrics }): Koa {
  const { config, logger, database, metrics } = options;
  // Behind proxies the client is the entry TRUST_PROXY_HOPS from the right of X-Forwarded-For:
  // entries further left were written by the client and prove nothing.
  const app = new Koa({ proxy: config.trustProxy, maxIpsCount: config.trustProxyHops, keys: [config.sessionSecret] });
  useCursorSecret(config.sessionSecret);
  useReadAlarm(config, logger);
  const yoga = createGraphQLServer({
    modules: [...graphqlModules, ...pluginGraphQLModules()],
    production: config.isProduction,
    corsOrigins: config.corsOrigins,
    logger,
    // During a restore the database is read-only: mutations get MAINTENANCE. Only a query may be
    // answered from the previous access snapshot while a new one loads (useOperationKind).
    plugins: [useMaintenanceGuard(), useOperationKind(), ...(metrics ? [metrics.graphqlPlugin] : [])],
    buildContext: (koa) => {
      let actor: Promise<Actor> | undefined;
      const context = {
        requestId: koa.state.requestId,
        logger: koa.state.logger,
        config,
        databaseKind: database.kind,
        ip: koa.ip,
        userAgent: koa.get('user-agent'),
        locale: requestLocale(koa),
        auth: koa.state.auth,
        actor: () => {
          const user = context.auth.user;
          if (!user) return Promise.reject(new Error('actor() needs a signed-in user; call requireActor first'));
          actor ??= actorAtAddress(user, koa.ip, context.locale);
          return actor;
        },
      } as const;
      return context;
    },
  });

  const router = new Router();
  router.get('/healthz', async (ctx) => {
    const up = await pingDatabase(database.connection);
    ctx.status = up ? 200 : 503;
    ctx.body = { status: up ? 'ok' : 'unavailable', database: up ? 'up' : 'down' };
  });
  if (metrics && config.metricsToken) router.get('/metrics', metricsEndpoint(metrics, config.metricsToken));
  backupRoutes(router);
  transferRoutes(router, {
    dailyRows: config.exportDailyRows,
    uploadQuotaBytes: config.importUploadQuotaBytes,
    countRead: (actor, cards) => countCardsRead(actor, cards, config, logger),
  });
  fileRoutes(router, {
    quotaBytes: config.fileQuotaBytes,
    previewCacheBytes: config.filePreviewCacheBytes,
    countRead: (actor, cards) => countCardsRead(actor, cards, config, logger),
  });
  // Every method of /graphql goes to yoga, ahead of the router: the API's requests skip matching the
  // routes and composing the matched route's middleware, which the router does for each request.
  const graphql: Koa.Middleware = async (ctx, next) => {
    if (ctx.path !== '/graphql') return next();
    // yoga writes the response itself (headers set so far — security headers, cookies — stay): a
    // JSON answer in one write, server-sent events as they come, without a stream in between. A
    // chunked body was read within the body limit already (bodyLimit): yoga is given that.
    ctx.respond = false;
    await yoga.handle(requestWithBody(ctx), ctx.res, { koa: ctx });
  };

  const securityHeaders = withSecurityHeaders();
  // GraphiQL (development only) is an inline page the default content policy would block.
  const relaxedForGraphiQL = withSecurityHeaders({ contentSecurityPolicy: false });

  app.on('error', (error: NodeJS.ErrnoException) => {
    // A client closing a live (server-sent events) response is routine, not a failure.
    if (error.code === 'ERR_STREAM_PREMATURE_CLOSE' || error.code === 'ECONNRESET') return;
    logger.error({ err: error }, 'unhandled application error');
  });
  // Outermost: every query a request makes, its session's too, runs under the request's time limit.
  app.use(limitRequestQueries(config.queryTimeLimitMs));
  // A GraphQL query may be answered from the previous access snapshot while a new one loads, unless it (or its session) changed access.
  app.use((ctx, next) => asAccessRequest(next, ctx.path === '/graphql'));
  app.use(requestContext(logger));
  app.use((ctx, next) => (!config.isProduction && ctx.path === '/graphql' ? relaxedForGraphiQL : securityHeaders)(ctx, next));
  // Uploads have their own, larger limits, checked as they stream in: an import's file
  // (server/src/transfer/routes.ts) and files on cards (each file field's limit, server/src/files).
  // Other bodies (GraphQL's) are held to BODY_LIMIT_KB here.
  const limitBody = bodyLimit(config.bodyLimitBytes);
  app.use((ctx, next) => (ctx.path === '/transfer/uploads' || ctx.path === FILES_PATH ? next() : limitBody(ctx, next)));
  app.use(sessionMiddleware(config));
  app.use(requestsInFlightPerUser({ running: config.userRequestsAtOnce, waiting: 8 * config.userRequestsAtOnce }));
  app.use(graphql);
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use(serveClient(options.clientDist));
  return app;
}
