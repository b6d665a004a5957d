import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { startTestServer, TEST_ADMIN } from '../support/server';

const QUERY = JSON.stringify({ query: '{ __typename }' });

async function post(server: RunningServer, origin: string): Promise<Response> {
  return fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: QUERY });
}

async function preflight(server: RunningServer, origin: string): Promise<Response> {
  return fetch(`${server.url}/graphql`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
}

describe('cross-origin requests (HTTP)', function () {
  this.timeout(60_000);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('gives a foreign Origin no CORS headers, so its pages cannot read answers or send cookies', async () => {
    for (const response of [await post(server, 'https://evil.example'), await preflight(server, 'https://evil.example')]) {
      expect(response.headers.get('access-control-allow-origin')).to.equal(null);
      expect(response.headers.get('access-control-allow-credentials')).to.equal(null);
    }
  });

  it('answers same-origin requests as before', async () => {
    const response = await post(server, server.url);
    expect(response.status).to.equal(200);
    expect(response.headers.get('access-control-allow-origin')).to.equal(null);
  });
});

describe('cross-origin requests with CORS_ORIGINS (HTTP)', function () {
  this.timeout(60_000);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer({ CORS_ORIGINS: 'https://app.example.com,https://admin.example.com' });
  });
  after(async () => {
    await server?.stop();
  });

  it('allows exactly the listed origins, with credentials', async () => {
    for (const response of [await post(server, 'https://admin.example.com'), await preflight(server, 'https://admin.example.com')]) {
      expect(response.headers.get('access-control-allow-origin')).to.equal('https://admin.example.com');
      expect(response.headers.get('access-control-allow-credentials')).to.equal('true');
    }
    const other = await post(server, 'https://app.example.com.evil.example');
    expect(other.headers.get('access-control-allow-origin')).to.equal(null);
  });
});

describe('production over plain HTTP and behind a TLS proxy (HTTP)', function () {
  this.timeout(60_000);
  const SIGN_IN = JSON.stringify({
    query: 'mutation($login: String!, $password: String!) { signIn(login: $login, password: $password) { user { login } } }',
    variables: { login: TEST_ADMIN.login, password: TEST_ADMIN.password },
  });
  const production = { NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(40) };

  it('refuses sign-in over plain HTTP with a message saying HTTPS is needed', async () => {
    const server = await startTestServer(production);
    try {
      const response = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: SIGN_IN });
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string; reason: string } }[] };
      expect(body.errors[0].extensions).to.deep.include({ code: 'FORBIDDEN', reason: 'HTTPS_REQUIRED' });
      expect(body.errors[0].message).to.match(/^Вход возможен только по HTTPS/);
    } finally {
      await server.stop();
    }
  });

  it('signs in behind a proxy that says the request came over HTTPS, with a Secure cookie', async () => {
    const server = await startTestServer({ ...production, TRUST_PROXY: 'true' });
    try {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' },
        body: SIGN_IN,
      });
      expect(((await response.json()) as { data: { signIn: { user: { login: string } } } }).data.signIn.user.login).to.equal(TEST_ADMIN.login);
      expect(response.headers.getSetCookie().find((cookie) => cookie.startsWith('kartoteka_session='))).to.match(/;\s*secure/i);
    } finally {
      await server.stop();
    }
  });
});
