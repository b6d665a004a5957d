import { expect } from 'chai';
import { Job } from '../../server/src/jobs/model';
import type { RunningServer } from '../../server/src/server';
import { signedIn, startTestServer } from '../support/server';
import { SseSubscription } from '../support/sse';
import { waitFor } from '../support/wait';

const TOKEN = 'metrics-token-for-the-tests-0123456789';

/** The value of one series in Prometheus' text format: `name{labels} value`, matched on the given labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe('/metrics for Prometheus (API)', function () {
  this.timeout(60_000);

  it('is off unless METRICS_TOKEN is set', async () => {
    const server = await startTestServer();
    try {
      const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/html' } });
      expect(response.status).to.equal(404);
    } finally {
      await server.stop();
    }
  });

  describe('with METRICS_TOKEN', () => {
    let server: RunningServer;
    const scrape = async () => {
      const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^text\/plain/);
      return response.text();
    };

    before(async () => {
      server = await startTestServer({ METRICS_TOKEN: TOKEN });
    });
    after(async () => {
      await server?.stop();
    });

    it('refuses a scrape without the token or with a wrong one', async () => {
      const without = await fetch(`${server.url}/metrics`);
      expect(without.status).to.equal(401);
      expect(without.headers.get('www-authenticate')).to.match(/^Bearer/);
      const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } });
      expect(wrong.status).to.equal(401);
      expect(await wrong.text()).not.to.contain('kartoteka_');
    });

    it('counts and times GraphQL operations by name, and database round trips', async () => {
      const admin = await signedIn(server);
      await admin.data('query Departments { departments { id } }');
      await admin.data('query Departments { departments { id } }');
      const failed = await admin.request('mutation CreateLibrary { createLibrary(name: "") { id } }');
      expect(failed.errors).to.have.length.greaterThan(0);

      const text = await scrape();
      expect(sample(text, 'kartoteka_graphql_operations_total', { operation: 'SignIn', type: 'mutation', outcome: 'ok' })).to.equal(1);
      expect(sample(text, 'kartoteka_graphql_operations_total', { operation: 'Departments', type: 'query', outcome: 'ok' })).to.equal(2);
      expect(sample(text, 'kartoteka_graphql_operations_total', { operation: 'CreateLibrary', type: 'mutation', outcome: 'error' })).to.equal(1);
      expect(sample(text, 'kartoteka_graphql_operation_duration_seconds_count', { operation: 'Departments', type: 'query' })).to.equal(2);
      expect(sample(text, 'kartoteka_db_commands_total', { command: 'find', outcome: 'ok' })).to.be.greaterThan(0);
      expect(sample(text, 'kartoteka_db_command_duration_seconds_count', { command: 'find' })).to.be.greaterThan(0);
      expect(sample(text, 'kartoteka_process_resident_memory_bytes')).to.be.greaterThan(0);
    });

    it('reports live subscribers of the event bus while they listen', async () => {
      const admin = await signedIn(server);
      const subscribers = async () => sample(await scrape(), 'kartoteka_event_bus_subscribers', { subscription: 'cardEvents' }) ?? 0;
      const live = new SseSubscription(server.url, admin.cookieHeader(), 'subscription Live { cardEvents { cardId } }');
      await live.ready;
      await waitFor(async () => (await subscribers()) === 1, 'one subscriber in /metrics');
      live.close();
      await waitFor(async () => (await subscribers()) === 0, 'the subscriber gone from /metrics');
    });

    it('keeps at most 200 operation names as labels, so clients cannot grow the series without end', async () => {
      const admin = await signedIn(server);
      for (let i = 0; i < 205; i += 1) await admin.data(`query Probe${i} { serverInfo { version } }`);
      const text = await scrape();
      expect(sample(text, 'kartoteka_graphql_operations_total', { operation: 'Probe0' })).to.equal(1);
      expect(sample(text, 'kartoteka_graphql_operations_total', { operation: 'Probe204' })).to.equal(undefined);
      expect(sample(text, 'kartoteka_graphql_operations_total', { operation: 'other', type: 'query', outcome: 'ok' })).to.be.greaterThan(0);
    });

    it('reports the background job queue from the jobs collection', async () => {
      // A type no runner here defines stays queued.
      await Job.create([{ type: 'metrics-test-waiting' }, { type: 'metrics-test-waiting' }]);
      const text = await scrape();
      expect(sample(text, 'kartoteka_jobs', { state: 'queued' })).to.equal(2);
      expect(sample(text, 'kartoteka_jobs', { state: 'running' })).to.equal(0);
    });
  });
});
