import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { buffer } from 'node:stream/consumers';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import { ApiClient } from '../support/api-client';
import { sendEndlessBody } from '../support/endless-body';
import { signedIn, startTestServer } from '../support/server';

describe('server skeleton (HTTP)', () => {
  let server: RunningServer;
  let api: ApiClient;

  before(async function () {
    // The history-mode fallback serves the built client: building it may take minutes on a busy machine.
    this.timeout(180_000);
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer();
    api = new ApiClient(server.url);
  });
  after(async () => {
    await server?.stop();
  });

  it('answers serverInfo with the product name alone to anyone, and what it runs on to administrators', async () => {
    const query = '{ serverInfo { product version databaseKind nodeVersion startedAt } }';
    const anonymous = await api.data<{ serverInfo: Record<string, string | null> }>(query);
    expect(anonymous.serverInfo).to.deep.equal({ product: 'Картотека', version: null, databaseKind: null, nodeVersion: null, startedAt: null });
    const admin = await signedIn(server);
    const data = await admin.data<{ serverInfo: { version: string; databaseKind: string; nodeVersion: string } }>(query);
    expect(data.serverInfo.version).to.match(/^\d+\.\d+\.\d+/);
    expect(data.serverInfo.databaseKind).to.equal('mongodb');
    expect(data.serverInfo.nodeVersion).to.equal(process.version);
  });

  it('reports health 200 while the database answers', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ status: 'ok', database: 'up' });
  });

  it('tags every response with a request id and sends security headers', async () => {
    const response = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(response.headers.get('x-request-id')).to.equal('abc-123');
    expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(response.headers.get('content-security-policy')).to.contain("default-src 'self'");
    const generated = await fetch(`${server.url}/healthz`);
    expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('refuses a GraphQL request body over the limit with 413 and the API’s error in the client’s language', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-language': 'en' },
      body: JSON.stringify({ query: `{ serverInfo { version } } #${'x'.repeat(1_100_000)}` }),
    });
    expect(response.status).to.equal(413);
    expect(response.headers.get('connection')).to.equal('close');
    expect(await response.json()).to.deep.equal({
      errors: [{ message: 'The request is too large (over 1024 KB): shorten the text or save the changes in parts', extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
  });

  it('does not read on a GraphQL body over the limit, of a stated length or chunked without end: 413, and the connection closes', async () => {
    const headers = 'Host: localhost\r\nContent-Type: application/json\r\nx-graphql-yoga-csrf: 1\r\n';
    const start = '{"query":"{ serverInfo { product } }","extensions":{"padding":"';
    for (const head of [
      `POST /graphql HTTP/1.1\r\n${headers}Content-Length: ${256 * 1024 * 1024}\r\n\r\n`,
      `POST /graphql HTTP/1.1\r\n${headers}Transfer-Encoding: chunked\r\n\r\n`,
    ]) {
      const { sent, answer } = await sendEndlessBody(server.url, head, { start, ceiling: 256 * 1024 * 1024 });
      expect(answer.split('\r\n')[0]).to.equal('HTTP/1.1 413 Payload Too Large');
      expect(answer.toLowerCase()).to.include('connection: close');
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).errors[0].extensions).to.deep.equal({ code: 'PAYLOAD_TOO_LARGE' });
      // What the server took before closing is the limit and a few socket buffers, not the rest.
      expect(sent, 'bytes the server accepted').to.be.below(64 * 1024 * 1024);
    }
    // A chunked body within the limit is read and answered.
    const request = http.request(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-graphql-yoga-csrf': '1' } });
    request.write('{"query":"{ serverInfo ');
    request.end('{ product } }"}');
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    const body = (await buffer(response)).toString();
    expect(response.statusCode, body).to.equal(200);
    expect(JSON.parse(body)).to.deep.equal({ data: { serverInfo: { product: 'Картотека' } } });
  });

  it('refuses a simple cross-site style request without the CSRF header', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=%7BserverInfo%7Bversion%7D%7D',
    });
    expect(response.status).to.equal(403);
    const body = (await response.json()) as { errors: { message: string }[] };
    expect(body.errors[0].message).to.contain('CSRF');
  });

  it('refuses a query nested deeper than the limit', async () => {
    const nested = (levels: number): string => (levels === 0 ? 'login' : `groups { members { ${nested(levels - 1)} } }`);
    const deep = `{ viewer { user { ${nested(8)} } } }`;
    const result = await api.request(deep);
    expect(result.errors?.[0].extensions?.code).to.equal('TOO_COMPLEX');
    expect(result.errors?.[0].message).to.match(/^Запрос слишком глубокий: не больше \d+ уровней вложенности$/);
  });

  it('serves index.html for client routes and 404 for unknown API paths', async () => {
    const route = await fetch(`${server.url}/about`, { headers: { accept: 'text/html' } });
    expect(route.status).to.equal(200);
    expect(await route.text()).to.contain('<div id="app">');
    const api = await fetch(`${server.url}/graphql/nothing-here`, { headers: { accept: 'text/html' } });
    expect(api.status).to.equal(404);
    const missingAsset = await fetch(`${server.url}/assets/missing.js`);
    expect(missingAsset.status).to.equal(404);
  });
});

describe('server skeleton in production', () => {
  it('answers no introspection and serves no GraphiQL', async () => {
    const server = await startTestServer({ NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(40) });
    try {
      const result = await new ApiClient(server.url).request('{ __schema { queryType { name } } }');
      expect(result.errors?.[0].message).to.match(/introspection/i);
      const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).to.not.contain('GraphiQL');
    } finally {
      await server.stop();
    }
  });
});

describe('server skeleton (shutdown)', () => {
  it('finishes an in-flight request, then refuses new connections and reports the database down', async () => {
    const server = await startTestServer();
    let stopped: Promise<void> | undefined;
    try {
      // A request the server has surely begun: its headers ask for "100 Continue", which the server
      // answers once it has read them and started the request; the body follows only after stop().
      const body = JSON.stringify({ query: '{ serverInfo { version } }' });
      const socket = net.connect(server.port, '127.0.0.1');
      socket.setEncoding('utf8');
      let received = '';
      const begun = new Promise<void>((resolve, reject) => {
        socket.on('data', (chunk: string) => {
          received += chunk;
          if (received.includes('100 Continue')) resolve();
        });
        socket.once('error', reject);
      });
      const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write(
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
      );
      await begun;
      stopped = server.stop();
      socket.end(body);
      await ended;
      const response = received.slice(received.indexOf('\r\n\r\n') + 4);
      expect(response).to.match(/^HTTP\/1\.1 200 /);
      const answer = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { data?: { serverInfo?: unknown }; errors?: unknown };
      expect(answer.errors).to.equal(undefined);
      expect(answer.data).to.have.property('serverInfo');
      await stopped;
      const error = await fetch(`${server.url}/healthz`).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(Error);
    } finally {
      // Whatever happened, the server is fully stopped before the next test uses the database.
      await (stopped ?? server.stop());
    }
  });
});
