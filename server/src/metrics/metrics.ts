import { createHash, timingSafeEqual } from 'node:crypto';
import { getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Middleware } from 'koa';
import type { mongo } from 'mongoose';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { accessSnapshotLoads } from '../access/snapshot';
import { Job, type JobState } from '../jobs/model';

/**
 * Operation names come from clients, so each new one would be a new time series: names are kept
 * as labels up to this many, later ones count as "other".
 */
const MAX_OPERATION_NAMES = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const WAITING_JOB_STATES: JobState[] = ['queued', 'running'];
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Metrics {
  registry: Registry;
  /** Counts and times GraphQL operations and the live subscriptions listening to the event bus. */
  graphqlPlugin: Plugin;
  /** Counts and times database round trips (the driver's command monitoring must be on). */
  watchDatabase(client: mongo.MongoClient): void;
}

/** Prometheus metrics of one server instance (a registry of its own, so tests can run several). */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'kartoteka_' });

  const operations = new Counter({
    name: 'kartoteka_graphql_operations_total',
    help: 'GraphQL operations executed, by operation name, type and outcome (ok, or error when the result carries errors)',
    labelNames: ['operation', 'type', 'outcome'],
    registers,
  });
  const operationSeconds = new Histogram({
    name: 'kartoteka_graphql_operation_duration_seconds',
    help: 'Time to execute a GraphQL operation, by operation name and type',
    labelNames: ['operation', 'type'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const subscribers = new Gauge({
    name: 'kartoteka_event_bus_subscribers',
    help: 'Live subscriptions (server-sent events) listening to the event bus, by subscription field',
    labelNames: ['subscription'],
    registers,
  });
  const dbCommands = new Counter({
    name: 'kartoteka_db_commands_total',
    help: 'Database round trips, by command and outcome',
    labelNames: ['command', 'outcome'],
    registers,
  });
  const dbSeconds = new Histogram({
    name: 'kartoteka_db_command_duration_seconds',
    help: 'Time of a database round trip, by command',
    labelNames: ['command'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  new Counter({
    name: 'kartoteka_access_snapshot_loads_total',
    help: 'Loads of the whole access snapshot by this process (each access change; a profile-only change of a user loads none)',
    registers,
    collect() {
      this.reset();
      this.inc(accessSnapshotLoads());
    },
  });
  new Gauge({
    name: 'kartoteka_jobs',
    help: 'Background jobs waiting (queued) or running, read from the shared jobs collection',
    labelNames: ['state'],
    registers,
    async collect() {
      const counts = await Promise.all(WAITING_JOB_STATES.map((state) => Job.countDocuments({ state })));
      WAITING_JOB_STATES.forEach((state, i) => this.set({ state }, counts[i]));
    },
  });

  const knownNames = new Set<string>();
  const operationLabel = (document: DocumentNode, name: string | null | undefined) => {
    const operation = getOperationAST(document, name);
    const given = operation?.name?.value;
    let label = 'anonymous';
    if (given && OPERATION_NAME.test(given)) {
      if (knownNames.has(given) || knownNames.size < MAX_OPERATION_NAMES) {
        knownNames.add(given);
        label = given;
      } else {
        label = 'other';
      }
    }
    const first = operation?.selectionSet.selections[0];
    return { operation: label, type: operation?.operation ?? 'unknown', field: first?.kind === 'Field' ? first.name.value : 'unknown' };
  };

  const graphqlPlugin: Plugin = {
    onExecute({ args }) {
      const { operation, type } = operationLabel(args.document, args.operationName);
      const stop = operationSeconds.startTimer({ operation, type });
      return {
        onExecuteDone({ result }) {
          stop();
          const errors = Symbol.asyncIterator in result ? undefined : (result as ExecutionResult).errors;
          operations.inc({ operation, type, outcome: errors?.length ? 'error' : 'ok' });
        },
      };
    },
    onSubscribe({ args }) {
      const { operation, field } = operationLabel(args.document, args.operationName);
      return {
        onSubscribeResult({ result }) {
          const listening = Symbol.asyncIterator in result;
          operations.inc({ operation, type: 'subscription', outcome: listening ? 'ok' : 'error' });
          if (!listening) return;
          subscribers.inc({ subscription: field });
          return { onEnd: () => subscribers.dec({ subscription: field }) };
        },
      };
    },
  };

  const started = new Map<number, () => void>();
  function watchDatabase(client: mongo.MongoClient): void {
    client.on('commandStarted', (event) => started.set(event.requestId, dbSeconds.startTimer({ command: event.commandName })));
    const finish = (outcome: 'ok' | 'error') => (event: { requestId: number; commandName: string }) => {
      started.get(event.requestId)?.();
      started.delete(event.requestId);
      dbCommands.inc({ command: event.commandName, outcome });
    };
    client.on('commandSucceeded', finish('ok'));
    client.on('commandFailed', finish('error'));
  }

  return { registry, graphqlPlugin, watchDatabase };
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** GET /metrics for Prometheus, only with `Authorization: Bearer <METRICS_TOKEN>`. */
export function metricsEndpoint(metrics: Metrics, token: string): Middleware {
  const expected = digest(token);
  return async (ctx) => {
    const given = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1] ?? '';
    if (!timingSafeEqual(digest(given), expected)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
      ctx.body = { error: 'A valid metrics token is required (Authorization: Bearer …)' };
      return;
    }
    ctx.set('Content-Type', metrics.registry.contentType);
    ctx.body = await metrics.registry.metrics();
  };
}
