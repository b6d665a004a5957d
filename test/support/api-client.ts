import { expect } from 'chai';

export interface GraphQLResult<T> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> & { code?: string } }[];
}

/** Talks GraphQL over HTTP like a browser would: JSON POSTs, keeping the session cookie it is given. */
export class ApiClient {
  private cookies = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async request<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResult<T>> {
    const response = await fetch(`${this.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...this.headers, cookie: this.cookieHeader() },
      body: JSON.stringify({ query, variables }),
    });
    this.remember(response);
    const body = (await response.json()) as Omit<GraphQLResult<T>, 'status'>;
    return { status: response.status, ...body };
  }

  /** Like request, but fails the test on any GraphQL error and returns the data. */
  async data<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const result = await this.request<T>(query, variables);
    if (result.errors?.length || !result.data) {
      throw new Error(`GraphQL errors: ${JSON.stringify(result.errors ?? result)}`);
    }
    return result.data;
  }

  /** The Cookie header this client sends (its session), for transports other than request(). */
  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** The field messages of a BAD_USER_INPUT refusal; fails the test on any other outcome (a 5xx, another code). */
export function refusalFields(result: GraphQLResult<unknown>): Record<string, string> {
  expect(result.status, JSON.stringify(result)).to.be.below(500);
  expect(result.errors?.[0].extensions?.code, JSON.stringify(result.errors)).to.equal('BAD_USER_INPUT');
  return result.errors?.[0].extensions?.fields as Record<string, string>;
}
