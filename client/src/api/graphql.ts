/**
 * The client's one way to talk to the API. Every operation is written with `graphql()` and sent
 * with `request()`:
 *
 *   const FolderName = graphql(`query FolderName($id: ID!) { folder(id: $id) { id name } }`);
 *   const { folder } = await request(FolderName, { id });   // folder: { id: string; name: string } | null
 *
 * gql.tada types each operation from the committed schema (`graphql-env.d.ts`, written by
 * `npm run schema`): a misspelled field, argument or variable fails `npm run typecheck`, and the
 * result and variables need no hand-written type. Shared selections are fragments passed as the
 * second argument (`graphql(text, [Fragment])`); their fields are part of the result (no masking).
 *
 * Subscriptions go through `subscribe(client, operation, variables, onData)` over a graphql-sse client.
 *
 * The types are all gql.tada does here: at run time a document is its text (with the text of its
 * fragments, each once), which is what goes over the wire, so no GraphQL parser or printer is
 * bundled.
 */
import type { DocumentDecoration, initGraphQLTada, ResultOf, VariablesOf } from 'gql.tada';
import type { Client } from 'graphql-sse';
import type { CardValues } from '../../../card-types';
import type { introspection } from './graphql-env';

export type { ResultOf, VariablesOf } from 'gql.tada';

type Tada = ReturnType<
  typeof initGraphQLTada<{
    introspection: introspection;
    disableMasking: true;
    scalars: {
      /** Card values as stored, by field key (the kernel's type). */
      CardValues: CardValues;
      /** ISO 8601. */
      DateTime: string;
      /** A field's `min`/`max`: a number, or a date's text. */
      Limit: number | string;
      /** Values sent in mutations: parsed by the server like the form's input. */
      JSON: unknown;
    };
  }>
>;

/** The parts (own text, then fragments) of each composed document, so a fragment used twice is sent once. */
const parts = new Map<string, readonly string[]>();

function compose(source: string, fragments: readonly unknown[] = []): string {
  const own = [source, ...fragments.flatMap((fragment) => parts.get(fragment as string) ?? [fragment as string])];
  const unique = [...new Set(own)];
  const text = unique.join('\n');
  parts.set(text, unique);
  return text;
}

/** A GraphQL operation or fragment, typed against schema.graphql. */
export const graphql = compose as unknown as Tada;

/** Any operation written with `graphql()`. */
export type Operation = DocumentDecoration<unknown, never>;

/** An error the server reported, with its `extensions.code` (e.g. FORBIDDEN) and per-field messages. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly fields: Record<string, string> = {},
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> & { code?: string; fields?: Record<string, string> } }[];
}

let unauthenticatedHandler: (() => void) | null = null;

/** Called whenever the server answers UNAUTHENTICATED (e.g. the session ended elsewhere). */
export function onUnauthenticated(handler: () => void): void {
  unauthenticatedHandler = handler;
}

/**
 * POSTs a GraphQL operation as JSON (a non-simple request, as the server's CSRF guard requires).
 * Accept-Language follows the interface language, so signed-out messages match it.
 */
async function send(operation: Operation, variables: Record<string, unknown>): Promise<unknown> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'accept-language': document.documentElement.lang || 'ru' },
    credentials: 'same-origin',
    body: JSON.stringify({ query: operation as unknown as string, variables }),
  });
  const payload = (await response.json().catch(() => ({}))) as GraphQLResponse<unknown>;
  const first = payload.errors?.[0];
  if (first) {
    const { code, fields, ...extensions } = first.extensions ?? {};
    if (code === 'UNAUTHENTICATED') unauthenticatedHandler?.();
    throw new GraphQLRequestError(first.message, code, fields, extensions);
  }
  if (!response.ok || !payload.data) throw new GraphQLRequestError(`HTTP ${response.status}`, undefined);
  return payload.data;
}

/** Runs an operation written with `graphql()`; variables are required when the operation has required ones. */
export function request<const D extends Operation>(
  operation: D,
  ...[variables]: Record<string, never> extends VariablesOf<D> ? [variables?: VariablesOf<D>] : [variables: VariablesOf<D>]
): Promise<ResultOf<D>> {
  return send(operation, variables ?? {}) as Promise<ResultOf<D>>;
}

/** A page of a list that goes on after its `endCursor` while `hasNextPage`. */
type ListPage<Node> = { edges: { node: Node }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

/**
 * Every row of a list read page after page (`page(after)`), at most `limit`. The server ends a reply
 * of cards once their values pass its budget (2,000,000 characters): the rest comes after its cursor.
 * Once `stale` says the rows are no longer wanted (another read took this one's place), no more
 * pages are asked for.
 */
export async function everyRow<Node>(page: (after: string | null) => Promise<ListPage<Node>>, limit = Infinity, stale: () => boolean = () => false): Promise<Node[]> {
  const rows: Node[] = [];
  let after: string | null = null;
  do {
    const reply: ListPage<Node> = await page(after);
    rows.push(...reply.edges.map((edge) => edge.node));
    after = reply.pageInfo.hasNextPage ? reply.pageInfo.endCursor : null;
  } while (after && rows.length < limit && !stale());
  return rows.slice(0, limit);
}

/**
 * Subscribes to a subscription written with `graphql()` over a graphql-sse client; returns the
 * unsubscribe function. `onError` hears why a subscription was refused (its GraphQL error) or why
 * its connection failed for good (after the client's retries) — unless `onEnd` is given: it then
 * hears of a failed connection, and of a stream the server ended (a server stopping ends its
 * streams as complete), so that the caller can connect again (`followLive`).
 */
export function subscribe<const D extends Operation>(
  client: Client,
  operation: D,
  variables: VariablesOf<D>,
  onData: (data: ResultOf<D>) => void,
  onError?: (message: string) => void,
  onEnd?: () => void,
): () => void {
  return client.subscribe<ResultOf<D>>(
    { query: operation as unknown as string, variables: variables as Record<string, unknown> },
    {
      next: ({ data, errors }) => {
        if (data) onData(data);
        else if (errors?.[0]) onError?.(errors[0].message);
      },
      error: (error) => (onEnd ? onEnd() : onError?.(error instanceof Error ? error.message : String(error))),
      complete: () => onEnd?.(),
    },
  );
}
