/** An error the server reported, with its `extensions.code` (e.g. FORBIDDEN) and per-field messages. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string; fields?: Record<string, string> } }[];
}

/** POSTs a GraphQL operation as JSON (a non-simple request, as the server's CSRF guard requires). */
export async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify({ query, variables }),
  });
  const payload = (await response.json().catch(() => ({}))) as GraphQLResponse<T>;
  const first = payload.errors?.[0];
  if (first) throw new GraphQLRequestError(first.message, first.extensions?.code, first.extensions?.fields);
  if (!response.ok || !payload.data) throw new GraphQLRequestError(`HTTP ${response.status}`, undefined);
  return payload.data;
}
