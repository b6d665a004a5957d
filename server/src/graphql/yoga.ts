import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { getOperationAST, getVariableValues, GraphQLError, Kind, visit, type DocumentNode, type ExecutionArgs } from 'graphql';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from '../logger';
import type { Context as KoaContext } from 'koa';
import type { GraphQLContext } from './context';
import { useComplexityLimits } from './complexity-limits';
import { useCostLimit } from './cost-limit';
import { useInputGuard } from './input-guard';
import type { GraphQLModule } from './module';
import { assembleSchema } from './schema';
import { isRequestQueryTimeout, requestQueryTimeoutError } from './query-time-limit';

export type KoaServerContext = { koa: KoaContext };

// Per query text (documents come from yoga's parse cache), what graphql-jit gets wrong:
// - a variable inside a literal object or list, e.g. `values: { name: $name }` for a JSON
//   argument: graphql-jit compiles such literals without the variables;
// - an argument written as a literal in a subscription, e.g. `jobEvents(id: "…")`: graphql-jit's
//   subscribe hands the field's subscribe resolver no arguments but variables;
// - a document of several operations (below).
// graphql-js runs these.
const jitMisreads = new WeakMap<DocumentNode, boolean>();

function jitWouldMisread(document: DocumentNode): boolean {
  let known = jitMisreads.get(document);
  if (known === undefined) {
    let depth = 0;
    let subscription = false;
    // graphql-jit's cache is keyed by the document alone: of a document of several operations it ran
    // whichever was compiled first, whatever operationName asked — a mutation under a query's name,
    // past the GET rule, the maintenance guard and the access layer's operation kind (s17 re-attack).
    known = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION).length > 1;
    visit(document, {
      OperationDefinition: {
        enter: (operation) => void (subscription = operation.operation === 'subscription'),
        leave: () => void (subscription = false),
      },
      ObjectValue: { enter: () => void (depth += 1), leave: () => void (depth -= 1) },
      ListValue: { enter: () => void (depth += 1), leave: () => void (depth -= 1) },
      Variable: () => {
        if (depth > 0) known = true;
      },
      Argument: (argument) => {
        if (subscription && argument.value.kind !== Kind.VARIABLE) known = true;
      },
    });
    jitMisreads.set(document, known);
  }
  return known;
}

/**
 * Whether graphql-jit runs this request: its variables coerce to their declared types (otherwise
 * graphql-js's refusals, which the input guard names) and it has none of the forms above.
 */
function jitRuns({ schema, document, operationName, variableValues }: ExecutionArgs): boolean {
  const operation = getOperationAST(document, operationName);
  if (!operation || jitWouldMisread(document)) return false;
  return !('errors' in getVariableValues(schema, operation.variableDefinitions ?? [], variableValues ?? {}));
}

export function createGraphQLServer(options: {
  modules: GraphQLModule[];
  production: boolean;
  /** Origins other than the server's own that may call the API with credentials (CORS_ORIGINS). */
  corsOrigins: readonly string[];
  logger: Logger;
  buildContext: (koa: KoaContext) => Omit<GraphQLContext, 'koa'>;
  /** Observers such as the Prometheus metrics; they come after the limits. */
  plugins?: Plugin[];
}): YogaServerInstance<KoaServerContext, GraphQLContext> {
  const schema = assembleSchema(options.modules);
  return createYoga<KoaServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    // Bodies are held to BODY_LIMIT_KB before yoga sees them (app.ts, bodyLimit: a declared length
    // over it is refused unread, a chunked body is read whole within it): yoga's own limit would
    // only pipe every body through one more stream.
    maxRequestBodySize: false,
    graphiql: !options.production,
    landingPage: false,
    // Same-origin only unless CORS_ORIGINS lists the caller: any other Origin gets no CORS headers
    // (graphql-yoga's default would reflect every Origin, with credentials).
    cors: (request) => {
      const origin = request.headers.get('origin');
      return origin !== null && options.corsOrigins.includes(origin)
        ? { origin: [origin], credentials: true, methods: ['GET', 'POST'], allowedHeaders: ['content-type', 'accept', 'x-graphql-yoga-csrf'] }
        : false;
    },
    // Requests must be non-simple (a JSON body or this header), which a cross-site form cannot send.
    plugins: [
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] }),
      // Query text size and nesting, unstorable text, and refusals that name their argument.
      useInputGuard({ production: options.production, schema }),
      // Deeply nested, much-aliased or very expensive queries are refused before they run
      // (the client asks for many cards with one `cards(ids:)`, not with aliases).
      useComplexityLimits({ maxDepth: 12, maxAliases: 50 }),
      // The cost counts the rows each list returns, from `first`/`last` or `ids` however they are set:
      // about 250 full cards in one request (the client's largest asks for 200).
      useCostLimit({ maxCost: 30_000 }),
      // Introspection only outside production, like GraphiQL.
      ...(options.production ? [useDisableIntrospection()] : []),
      ...(options.plugins ?? []),
      // Each query is compiled to a JavaScript function once (cached per query text, as yoga's
      // built-in parse and validation caches are) and run as that function from then on; see jitRuns
      // for the requests graphql-js runs instead.
      useGraphQlJit({}, { enableIf: jitRuns }),
    ],
    maskedErrors: {
      // Unexpected errors reach the client as a generic message; the log keeps the real one. Never
      // in development mode either: its stack traces would show the server's paths to clients.
      isDev: false,
      maskError: (error, message) => {
        const original = error instanceof GraphQLError ? error.originalError : error;
        if (error instanceof GraphQLError && isRequestQueryTimeout(original)) {
          options.logger.warn({ err: original, path: error.path }, 'GraphQL resolver stopped: its query ran past the time limit');
          return requestQueryTimeoutError(error);
        }
        if (original && !(original instanceof GraphQLError)) options.logger.error({ err: original }, 'GraphQL resolver failed');
        return maskError(error, message, false);
      },
    },
    logging: false,
    context: ({ koa }) => ({ ...options.buildContext(koa), koa }),
  });
}
