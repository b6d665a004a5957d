import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../server/src/config';
import { PROJECT_ROOT } from '../../server/src/paths';
import type { RunningServer } from '../../server/src/server';
import { startTestServer } from '../support/server';

/**
 * deploy/ cannot run here (no Docker), so its files are read and checked against the application:
 * the configuration schema, the ports it listens on, the health check it answers.
 */
const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  expose?: string[];
  ports?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
}

const compose = parse(read('deploy/docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** deploy/.env.example, with a sample for every empty secret, as an operator would fill it. */
const exampleSettings = Object.fromEntries(
  read('deploy/.env.example')
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => {
      const [name, value] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
      return [name, value || `${name.toLowerCase()}-${'0123456789abcdef'.repeat(3)}`];
    }),
);

/** Docker Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}, and $$ for a literal $. */
function interpolate(value: string, settings: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_whole, name: string | undefined, kind: string | undefined, rest: string | undefined) => {
    if (!name) return '$';
    const set = settings[name];
    if (set) return set;
    if (kind === '?') throw new Error(`${name} is required: ${rest}`);
    return kind === '-' ? (rest ?? '') : '';
  });
}

const environmentOf = (service: Service) =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, interpolate(String(value), exampleSettings)]));

/** Dockerfile instructions of the last stage (continuation lines joined). */
function finalStage(): { instruction: string; args: string }[] {
  const lines = read('deploy/Dockerfile')
    .replace(/\\\n\s*/g, ' ')
    .split('\n');
  const instructions = lines.filter((line) => /^[A-Z]+ /.test(line)).map((line) => ({ instruction: line.split(' ')[0], args: line.slice(line.indexOf(' ') + 1).trim() }));
  const lastFrom = instructions.map((i) => i.instruction).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}

const kartotekaServices = Object.keys(services).filter((name) => services[name].build?.dockerfile === 'deploy/Dockerfile');
const replicaSetMembers = Object.keys(services).filter((name) => services[name].command?.includes('--replSet'));

describe('deploy/: compose file, Dockerfile and Caddyfile agree with the application', function () {
  this.timeout(60_000);

  it('runs two Kartoteka instances from the Dockerfile, a MongoDB 7 replica set of three, Redis and Caddy', () => {
    expect(kartotekaServices).to.have.length(2);
    expect(replicaSetMembers).to.have.length(3);
    for (const member of replicaSetMembers) expect(services[member].image).to.match(/^mongo:7(\.|$)/);
    expect(services.redis.image).to.match(/^redis:/);
    expect(services.caddy.image).to.match(/^caddy:2/);
  });

  it('asks the operator for every setting it uses (deploy/.env.example lists them all)', () => {
    // `$${…}` is the container's own variable, not a setting.
    const used = new Set([...read('deploy/docker-compose.yml').matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
    expect([...used].filter((name) => !(name in exampleSettings))).to.deep.equal([]);
  });

  it('gives each instance a valid production configuration, naming only variables Kartoteka reads', () => {
    for (const name of kartotekaServices) {
      const environment = environmentOf(services[name]);
      expect(
        Object.keys(environment).filter((variable) => !CONFIG_VARIABLES.includes(variable)),
        `${name}: unknown variables`,
      ).to.deep.equal([]);
      const config = loadConfig(environment);
      expect(config.isProduction, name).to.equal(true);
      expect(config.trustProxy, `${name} is behind Caddy`).to.equal(true);
      expect(config.redisUrl, `${name} shares live events`).to.be.a('string');
      expect(config.mongodbUri, name).to.be.a('string');
    }
  });

  it('points the instances at the replica set the compose file defines, with the credentials it creates', () => {
    const environment = environmentOf(services[kartotekaServices[0]]);
    // mongodb://user:password@host1:port,host2:port/database?options (several hosts: no WHATWG URL).
    const [, , password, hostList, query] = /^mongodb:\/\/([^:]+):([^@]+)@([^/]+)\/[^?]*\?(.*)$/.exec(environment.MONGODB_URI)!;
    const hosts = hostList.split(',');
    expect(hosts.map((host) => host.split(':')[0])).to.have.members(replicaSetMembers);
    const setName = new URLSearchParams(query).get('replicaSet');
    for (const member of replicaSetMembers) {
      const command = services[member].command!;
      expect(command[command.indexOf('--replSet') + 1], `${member}'s replica set`).to.equal(setName);
    }
    const initScript = read('deploy/mongo/init-replica-set.js');
    expect(/const members = \[([^\]]*)\]/.exec(initScript)?.[1].match(/[\w-]+:\d+/g)).to.have.members(hosts);
    expect(initScript).to.contain(`_id: '${setName}'`);
    const init = environmentOf(services['mongo-init']);
    expect(decodeURIComponent(password), 'the app user password mongo-init creates').to.equal(init.MONGO_APP_PASSWORD);
    expect(init.MONGO_INITDB_ROOT_PASSWORD).to.equal(environmentOf(services.mongo1).MONGO_INITDB_ROOT_PASSWORD);

    const redis = new URL(environment.REDIS_URL);
    expect(redis.hostname).to.equal('redis');
    expect(decodeURIComponent(redis.password)).to.equal(environmentOf(services.redis).REDISCLI_AUTH);
  });

  it('agrees on the port: the instances listen where the image exposes and Caddy forwards', () => {
    const stage = finalStage();
    const imagePort = /PORT=(\d+)/.exec(stage.find((i) => i.instruction === 'ENV' && i.args.includes('PORT='))!.args)![1];
    expect(stage.find((i) => i.instruction === 'EXPOSE')?.args).to.equal(imagePort);
    const caddyfile = read('deploy/Caddyfile');
    const upstreams = /reverse_proxy ([^{\n]+)/.exec(caddyfile)![1].trim().split(/\s+/);
    expect(upstreams.map((upstream) => upstream.split(':')[0])).to.have.members(kartotekaServices);
    for (const name of kartotekaServices) {
      const port = String(loadConfig(environmentOf(services[name])).port);
      expect(port, `${name} listens on the image's port`).to.equal(imagePort);
      expect(services[name].expose).to.deep.equal([port]);
      expect(services[name].ports, `${name} is reached through Caddy only`).to.equal(undefined);
    }
    for (const upstream of upstreams) expect(upstream.split(':')[1]).to.equal(imagePort);
    expect(services.caddy.ports).to.include.members(['80:80', '443:443']);
  });

  it('builds a multi-stage image on the Node of .nvmrc that runs the production build as a non-root user', () => {
    const dockerfile = read('deploy/Dockerfile');
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(bases.length).to.be.at.least(2);
    for (const base of bases) expect(base).to.match(new RegExp(`^node:${read('.nvmrc').trim()}[-.]`));
    const stage = finalStage();
    const user = stage.filter((i) => i.instruction === 'USER').at(-1)?.args;
    expect(user)
      .to.be.a('string')
      .and.not.match(/^(root|0)(:|$)/);
    expect(stage.some((i) => i.instruction === 'RUN' && i.args.includes('npm ci --omit=dev'))).to.equal(true);
    const startProd = JSON.parse(read('package.json')).scripts['start:prod'] as string;
    const command = JSON.parse(stage.find((i) => i.instruction === 'CMD')!.args) as string[];
    expect(command[0]).to.equal('node');
    // The same node flags too: the heap limit and young generation production is measured with (README «Memory»).
    expect(startProd, 'the image runs what npm run start:prod runs').to.contain(command.join(' '));
  });

  it('checks health the same way in the image, the compose file and Caddy, and every awaited service has a check', () => {
    const stage = finalStage();
    const imageCheck = JSON.parse(stage.find((i) => i.instruction === 'HEALTHCHECK')!.args.replace(/^.*?CMD /, '')) as string[];
    for (const name of kartotekaServices) expect(services[name].healthcheck?.test).to.deep.equal(['CMD', ...imageCheck]);
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[dependency], `${name} depends on ${dependency}`).to.not.equal(undefined);
        if (condition === 'service_healthy') expect(services[dependency].healthcheck, `${dependency} (awaited by ${name}) has a health check`).to.not.equal(undefined);
        if (condition === 'service_completed_successfully') expect(services[dependency].restart, `${dependency} runs to completion`).to.be.oneOf(['no', 'on-failure']);
      }
    }
  });

  it('takes scheduled backups into a volume both instances share, which the image lets its user write', () => {
    const volumes = new Set<string>();
    for (const name of kartotekaServices) {
      const config = loadConfig(environmentOf(services[name]));
      expect(config.backupSchedule, `${name} keeps the schedule`).to.be.a('string');
      const mount = services[name].volumes?.find((volume) => volume.endsWith(`:${config.backupDir}`));
      expect(mount, `${name} mounts a volume at BACKUP_DIR`).to.be.a('string');
      volumes.add(mount!.split(':')[0]);
    }
    expect([...volumes]).to.have.length(1);
    expect(parse(read('deploy/docker-compose.yml')).volumes).to.have.property([...volumes][0]);
    const backupDir = loadConfig(environmentOf(services[kartotekaServices[0]])).backupDir;
    const stage = finalStage();
    const user = stage.filter((i) => i.instruction === 'USER').at(-1)!.args;
    expect(
      stage.some((i) => i.instruction === 'RUN' && i.args.includes(`chown ${user}:${user} ${backupDir}`)),
      "the image makes BACKUP_DIR its user's",
    ).to.equal(true);
  });

  describe('against a running server', () => {
    let server: RunningServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => {
      await server?.stop();
    });

    it('answers 200 where Caddy checks health, and the image health check passes', async () => {
      const healthUri = /health_uri (\S+)/.exec(read('deploy/Caddyfile'))![1];
      expect((await fetch(`${server.url}${healthUri}`)).status).to.equal(200);
      // Resolves when the check exits 0, rejects otherwise (the server answers meanwhile: no spawnSync).
      await promisify(execFile)(process.execPath, ['--import', 'tsx', 'server/src/healthcheck.ts'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, NODE_ENV: 'test', PORT: String(server.port) },
      });
    });
  });
});
