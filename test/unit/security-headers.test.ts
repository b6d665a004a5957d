import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import helmet, { type HelmetOptions } from 'helmet';
import Koa from 'koa';
import { securityHeaders } from '../../server/src/http/security-headers';

/** The headers a response of a server using `middleware` carries (date and connection left out). */
async function headersOf(handler: http.RequestListener): Promise<Record<string, string>> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const headers = Object.fromEntries(response.headers);
    delete headers.date;
    delete headers.connection;
    delete headers['keep-alive'];
    return headers;
  } finally {
    server.close();
  }
}

describe('security headers (unit)', () => {
  for (const [name, options] of [
    ['the defaults', undefined],
    ['without a content policy (GraphiQL)', { contentSecurityPolicy: false }],
  ] as [string, HelmetOptions | undefined][]) {
    it(`answers with exactly the headers helmet sends per request: ${name}`, async () => {
      const app = new Koa();
      app.use(securityHeaders(options));
      app.use((ctx) => void (ctx.body = 'ok'));
      const ours = await headersOf(app.callback());
      const helmets = await headersOf((request, response) => helmet(options)(request, response, () => response.end('ok')));
      delete ours['content-type'];
      delete ours['content-length'];
      delete helmets['content-length'];
      expect(ours).to.deep.equal(helmets);
      expect(Object.keys(ours).length).to.be.above(8);
      if (!options) expect(ours['content-security-policy']).to.contain("default-src 'self'");
      else expect(ours).not.to.have.property('content-security-policy');
    });
  }
});
