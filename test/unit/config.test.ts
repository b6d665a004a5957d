import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../server/src/config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('starts with no configuration at all, on port 3000 in development', () => {
    const config = loadConfig({});
    expect(config.port).to.equal(3000);
    expect(config.nodeEnv).to.equal('development');
    expect(config.mongodbUri).to.equal(undefined);
    expect(config.trustProxy).to.equal(false);
  });

  it('names every bad variable in one message', () => {
    const problems = problemsOf({ PORT: 'eighty', MONGODB_URI: 'postgres://x', TRUST_PROXY: 'maybe', NODE_ENV: 'staging' });
    expect(problems.map((p) => p.split(':')[0])).to.have.members(['PORT', 'MONGODB_URI', 'TRUST_PROXY', 'NODE_ENV']);
    expect(problems.join('\n')).to.contain('PORT: must be a number');
  });

  it('checks the shared event bus address', () => {
    expect(problemsOf({ REDIS_URL: 'localhost:6379' })).to.deep.equal(['REDIS_URL: must start with redis:// or rediss://']);
    expect(loadConfig({ REDIS_URL: 'redis://localhost:6379' }).redisUrl).to.equal('redis://localhost:6379');
  });

  it('rejects ports out of range', () => {
    expect(problemsOf({ PORT: '70000' })).to.deep.equal(['PORT: must be 0–65535']);
  });

  it('refuses to start in production without a session secret', () => {
    expect(problemsOf({ NODE_ENV: 'production' })[0]).to.match(/^SESSION_SECRET: required in production/);
  });

  it('accepts production with a long enough secret and rejects a short one', () => {
    const secret = 'x'.repeat(40);
    expect(loadConfig({ NODE_ENV: 'production', SESSION_SECRET: secret, MONGODB_URI: 'mongodb://db/k' }).sessionSecret).to.equal(secret);
    expect(problemsOf({ NODE_ENV: 'production', SESSION_SECRET: 'short' })[0]).to.match(/^SESSION_SECRET: must be at least 32/);
  });

  it('refuses production without MONGODB_URI and says how to mean the embedded database', () => {
    const secret = 'x'.repeat(40);
    const [problem] = problemsOf({ NODE_ENV: 'production', SESSION_SECRET: secret });
    expect(problem).to.match(/^MONGODB_URI: required in production/);
    expect(problem).to.contain('EMBEDDED_DB=true');
    expect(loadConfig({ NODE_ENV: 'production', SESSION_SECRET: secret, EMBEDDED_DB: 'true' })).to.include({ embeddedDb: true, mongodbUri: undefined });
    expect(problemsOf({ EMBEDDED_DB: 'true', MONGODB_URI: 'mongodb://db/k' })).to.deep.equal(['EMBEDDED_DB: true contradicts MONGODB_URI; set one of them']);
  });

  it('trusts one proxy hop by default and takes 1–10', () => {
    expect(loadConfig({}).trustProxyHops).to.equal(1);
    expect(loadConfig({ TRUST_PROXY_HOPS: '2' }).trustProxyHops).to.equal(2);
    expect(problemsOf({ TRUST_PROXY_HOPS: '0' })).to.deep.equal(['TRUST_PROXY_HOPS: must be 1–10']);
  });

  it('allows no other origin by default and reads a list of exact origins', () => {
    expect(loadConfig({}).corsOrigins).to.deep.equal([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).corsOrigins).to.deep.equal(['https://app.example.com', 'http://localhost:5173']);
    expect(problemsOf({ CORS_ORIGINS: 'https://app.example.com/path' })[0]).to.match(/^CORS_ORIGINS: must be origins like/);
    expect(problemsOf({ CORS_ORIGINS: '*' })[0]).to.match(/^CORS_ORIGINS:/);
  });

  it('enables the shipped russian-requisites plugin unless PLUGINS lists others, or none', () => {
    expect(loadConfig({}).plugins).to.deep.equal(['russian-requisites']);
    expect(loadConfig({ PLUGINS: ' russian-requisites , ./local/acme.js,@acme/kartoteka-plugin ' }).plugins).to.deep.equal([
      'russian-requisites',
      './local/acme.js',
      '@acme/kartoteka-plugin',
    ]);
    expect(loadConfig({ PLUGINS: 'none' }).plugins).to.deep.equal([]);
  });

  it('treats empty variables as unset and reads booleans', () => {
    const config = loadConfig({ PORT: '', TRUST_PROXY: 'true', MONGODB_URI: 'mongodb://db:27017/k' });
    expect(config.port).to.equal(3000);
    expect(config.trustProxy).to.equal(true);
    expect(config.mongodbUri).to.equal('mongodb://db:27017/k');
  });
});
