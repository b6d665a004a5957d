import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { signedIn, startTestServer } from '../support/server';

/** A document of two operations: a query and a mutation that creates a library. */
const DOCUMENT = 'query Libraries { libraries { name } } mutation Create($name: String!) { createLibrary(name: $name) { id } }';

describe('a document of several operations (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
  });
  after(async () => {
    await server?.stop();
  });

  const run = async (operationName: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', cookie: admin.cookieHeader() },
      body: JSON.stringify({ query: DOCUMENT, operationName, variables }),
    });
    return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  };

  it('runs the operation operationName names, each time — never the one compiled first for that text (s17 re-attack: the query ran the mutation)', async () => {
    const created = await run('Create', { name: 'Архив договоров' });
    expect(created.data).to.have.property('createLibrary');
    for (let time = 0; time < 2; time += 1) {
      const listed = await run('Libraries', { name: 'Лишняя' });
      expect(listed.errors).to.equal(undefined);
      expect(listed.data).to.have.property('libraries');
      expect(listed.data).not.to.have.property('createLibrary');
    }
    const names = (await admin.data<{ libraries: { name: string }[] }>('{ libraries { name } }')).libraries.map((library) => library.name);
    expect(names.filter((name) => name === 'Архив договоров')).to.have.length(1);
    expect(names).not.to.include('Лишняя');
  });
});
