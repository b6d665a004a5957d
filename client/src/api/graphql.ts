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
export async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'accept-language': document.documentElement.lang || 'ru' },
    credentials: 'same-origin',
    body: JSON.stringify({ query, variables }),
  });
  const payload = (await response.json().catch(() => ({}))) as GraphQLResponse<T>;
  const first = payload.errors?.[0];
  if (first) {
    const { code, fields, ...extensions } = first.extensions ?? {};
    if (code === 'UNAUTHENTICATED') unauthenticatedHandler?.();
    throw new GraphQLRequestError(first.message, code, fields, extensions);
  }
  if (!response.ok || !payload.data) throw new GraphQLRequestError(`HTTP ${response.status}`, undefined);
  return payload.data;
}
