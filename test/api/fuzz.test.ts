/**
 * Hostile values for every argument of every query and mutation, derived from the schema by
 * introspection (a new mutation is covered without touching this file), sent in JSON variables and
 * written inline. Counted: 5xx responses, masked errors («Unexpected error.») and refusals that do not
 * name the argument that was hostile. All three must stay 0. Afterwards every history chain verifies.
 *
 * Small by default (a few seconds); `FUZZ_N=10000 npx mocha … test/api/fuzz.test.ts` for a long run,
 * `FUZZ_SEED` to replay one. Each call makes one argument hostile and gives the others values that
 * point at a sandbox (its own department, user, group, library, folder and cards).
 */
import { expect } from 'chai';
import { Types } from 'mongoose';
import { verifyChain } from '../../server/src/history/chain';
import { HistoryEntry, type HistoryEntryDoc } from '../../server/src/history/model';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient, GraphQLResult } from '../support/api-client';
import { createCorrespondents, createUser } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { seededRandom as random } from '../support/random';

const CALLS = Number(process.env.FUZZ_N ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const PASSWORD = 'secret-password-1';

// ---------- the schema, as introspection tells it ----------

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface InputValue {
  name: string;
  type: TypeRef;
}
interface Field {
  name: string;
  args: InputValue[];
  type: TypeRef;
}
interface Operation extends Field {
  root: 'query' | 'mutation';
}
interface NamedType {
  name: string;
  kind: string;
  inputFields: InputValue[] | null;
  enumValues: { name: string }[] | null;
}

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }';
const INTROSPECTION = `{ __schema {
  queryType { fields { name args { name type { ${TYPE_REF} } } type { ${TYPE_REF} } } }
  mutationType { fields { name args { name type { ${TYPE_REF} } } type { ${TYPE_REF} } } }
  types { name kind inputFields { name type { ${TYPE_REF} } } enumValues { name } }
} }`;

const named = (type: TypeRef): TypeRef => (type.ofType ? named(type.ofType) : type);
const printType = (type: TypeRef): string => (type.kind === 'NON_NULL' ? `${printType(type.ofType!)}!` : type.kind === 'LIST' ? `[${printType(type.ofType!)}]` : type.name!);
const nullable = (type: TypeRef) => type.kind !== 'NON_NULL';
const unwrapped = (type: TypeRef) => (type.kind === 'NON_NULL' ? type.ofType! : type);

// ---------- hostile values ----------

const deep = (levels: number): unknown => (levels === 0 ? 'дно' : { a: deep(levels - 1) });
const HOSTILE_TEXT = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '😀\ud83d',
  'x'.repeat(300_000),
  'я'.repeat(5_000),
  '$where',
  '$gt',
  '{"$gt":""}',
  '.*',
  '^(.+)+$X',
  '(a+)+$',
  '[',
  '\\',
  '../../../etc/passwd',
  '<script>alert(1)</script>',
  "'; DROP TABLE cards; --",
  '__proto__',
  'constructor',
  'prototype',
  '0123456789abcdef01234567',
  'FFFFFFFFFFFFFFFFFFFFFFFF',
  'aaaaaaaaaaaa',
  '\u202eevil',
  '\r\n\t',
  'NaN',
  '-1',
  '1e309',
  'true',
  'null',
  '2026-02-30',
  'ООО «Ромашка»',
];
const HOSTILE_ANY: unknown[] = [null, 0, -1, 1.5, 2 ** 31, -(2 ** 53), true, false, '', 'x', {}, [], { $gt: '' }, { $where: 'sleep(1000)' }, [[[[]]]], [null], deep(40), deep(3)];
const HOSTILE_INT = [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53, 1.5, '1', 'NaN', -0];
const HOSTILE_DATE = ['garbage', '', '2026-13-45T99:99:99Z', '0001-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', '2026-01-01', 1e20, '1970-01-01T00:00:00.000Z'];
const HOSTILE_JSON: unknown[] = [
  ...HOSTILE_ANY,
  'name',
  42,
  ['name'],
  { name: { $gt: '' } },
  { name: { $regex: '^(.+)+$X' } },
  { $set: { name: 'x' } },
  { name: '\ud800' },
  { name: 'x'.repeat(100_000) },
  { '': 1 },
  { 'a.b': 1 },
  { name: ['a', 'b'] },
  { name: { toString: 1, valueOf: 1 } },
  { inn: { toString: 1 } },
  { tags: 'a,b,'.repeat(1000) },
  { tags: Array.from({ length: 5000 }, (_, i) => `t${i}`) },
  { counterparty: '0123456789abcdef01234567' },
  { counterparty: { $ne: null } },
  { manager: ['0123456789abcdef01234567'] },
  { amount: '1e400' },
  { amount: 'NaN' },
  Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i])),
  JSON.parse('{"__proto__": {"polluted": true}, "name": "proto"}'),
  { key: 'x', names: { ru: 'x', en: 'x' }, fields: [{ key: 'a', kind: 'string', label: 'x', pattern: '(a+)+$' }] },
  { key: 'counterparty', fields: null },
  deep(33),
  // Hostile but storable: these are accepted, stored and recorded in history.
  { name: "'; DROP TABLE cards; --", notes: '<script>alert(1)</script>' },
  { name: 'Эмодзи 😀 и RTL \u202e', notes: 'строка\u2028разделитель\u0000нуль' },
  { name: '$where', tags: ['$gt', '__proto__', 'constructor'] },
  { notes: null, email: 'A@B.RU', phone: '+7 (495) 123-45-67' },
  { website: 'javascript:alert(1)' },
  { fullName: 'x'.repeat(200), kpp: '7707 01 001' },
  { name: 'Новый контрагент', inn: '7707083893' },
];

// ---------- the sandbox every baseline value points into ----------

interface Sandbox {
  departmentId: string;
  userId: string;
  groupId: string;
  libraryId: string;
  folderId: string;
  cardId: string;
  contactId: string;
}

interface Call {
  operation: Operation;
  hostile: string;
  value: unknown;
  inline: boolean;
}

interface Outcome {
  status: number;
  code: string | undefined;
  message: string | undefined;
  fields: Record<string, string> | undefined;
}

describe('fuzz: hostile values for every argument (API)', function () {
  this.timeout(Math.max(120_000, CALLS * 200));
  let server: RunningServer;
  let admin: ApiClient;
  let sandbox: Sandbox;
  let operations: Operation[];
  const types = new Map<string, NamedType>();

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'fuzz-colleague', fullName: 'Коллега', level: 'full' }]);
    const userId = await createUser(admin, { login: 'fuzz-victim', fullName: 'Подопытный', password: PASSWORD, departmentId: scenario.departmentId });
    const groupId = (await admin.data<{ createGroup: { id: string } }>('mutation { createGroup(name: "Песочница") { id } }')).createGroup.id;
    for (const typeKey of ['counterparty', 'contact-person']) await admin.data('mutation($t: String!) { setCardTypeHistory(typeKey: $t, enabled: true) { key } }', { t: typeKey });
    const create = async (typeKey: string, values: Record<string, unknown>) =>
      (
        await admin.data<{ createCard: { id: string } }>('mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }', {
          f: scenario.folderId,
          t: typeKey,
          v: values,
        })
      ).createCard.id;
    const cardId = await create('counterparty', { name: 'Песочница', inn: '7707083893' });
    const contactId = await create('contact-person', { fullName: 'Связной', counterparty: cardId });
    sandbox = { departmentId: scenario.departmentId, userId, groupId, libraryId: scenario.libraryId, folderId: scenario.folderId, cardId, contactId };

    const schema = (await admin.data<{ __schema: { queryType: { fields: Field[] }; mutationType: { fields: Field[] }; types: NamedType[] } }>(INTROSPECTION)).__schema;
    for (const type of schema.types) types.set(type.name, type);
    const withArgs = (root: Operation['root'], fields: Field[]) => fields.filter((field) => field.args.length > 0).map((field) => ({ ...field, root }));
    operations = [...withArgs('mutation', schema.mutationType.fields), ...withArgs('query', schema.queryType.fields)];
  });
  after(async () => {
    await server?.stop();
  });

  /** A value that points into the sandbox (or is simply valid) for an argument or input field. */
  async function baseline(operation: Operation, name: string, type: TypeRef): Promise<unknown> {
    const base = named(type);
    const list = unwrapped(type).kind === 'LIST';
    if (nullable(type) && !['id', 'folderId', 'cardId', 'typeKey', 'allowedCardTypes'].includes(name)) return undefined;
    if (list) return name === 'allowedCardTypes' ? ['counterparty', 'contact-person'] : [];
    if (base.kind === 'ENUM') return types.get(base.name!)!.enumValues![0].name;
    if (base.kind === 'INPUT_OBJECT') {
      const fields = types.get(base.name!)!.inputFields!;
      const entries = await Promise.all(fields.map(async (field) => [field.name, await baseline(operation, field.name, field.type)] as const));
      return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
    }
    switch (base.name) {
      case 'ID':
        return idFor(operation, name);
      case 'Int':
        return name === 'version' ? currentVersion(operation) : name === 'first' ? 10 : 1;
      case 'Boolean':
        return true;
      case 'DateTime':
        return new Date().toISOString();
      case 'JSON':
        return name === 'values' ? { name: 'Проверка', notes: 'Проверка' } : {};
      default:
        return (
          (
            { typeKey: 'counterparty', key: 'counterparty', tab: 'contacts', field: 'name', sortBy: 'name', kind: 'sign-in', login: 'fuzz-nobody', query: 'Песочница' } as Record<
              string,
              string
            >
          )[name] ?? (/password/i.test(name) ? 'не-тот-пароль-1' : 'Проверка')
        );
    }
  }

  function idFor(operation: Operation, name: string): string {
    const byName: Record<string, string> = {
      folderId: sandbox.folderId,
      cardId: sandbox.cardId,
      libraryId: sandbox.libraryId,
      departmentId: sandbox.departmentId,
      userId: sandbox.userId,
    };
    if (byName[name]) return byName[name];
    const hint = `${operation.name} ${named(operation.type).name}`;
    if (/card/i.test(hint)) return /contact/i.test(hint) ? sandbox.contactId : sandbox.cardId;
    if (/folder/i.test(hint)) return sandbox.folderId;
    if (/librar/i.test(hint)) return sandbox.libraryId;
    if (/department/i.test(hint)) return sandbox.departmentId;
    if (/group/i.test(hint)) return sandbox.groupId;
    if (/user|password/i.test(hint)) return sandbox.userId;
    return String(new Types.ObjectId());
  }

  async function currentVersion(operation: Operation): Promise<number> {
    const id = idFor(operation, 'cardId');
    const found = await admin.data<{ card: { version: number } | null }>('query($id: ID!) { card(id: $id) { version } }', { id });
    return found.card?.version ?? 1;
  }

  /** A hostile value for an argument or input field of this type. */
  function hostileFor(type: TypeRef, next: () => number, depth = 0): unknown {
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)];
    if (next() < 0.15) return pick(HOSTILE_ANY);
    const inner = unwrapped(type);
    if (inner.kind === 'LIST') {
      const roll = next();
      const item = hostileFor(inner.ofType!, next, depth + 1);
      // Long lists of small items: the request stays under the body limit.
      if (roll < 0.3) return Array<unknown>(JSON.stringify(item ?? null).length > 100 ? 3 : 5000).fill(item);
      if (roll < 0.5) return [null];
      return [item];
    }
    const base = named(type);
    if (base.kind === 'ENUM') return pick(['nope', 'READ', '__proto__', '', 'ru ', 'edit']);
    if (base.kind === 'INPUT_OBJECT' && depth < 3) {
      const fields = types.get(base.name!)!.inputFields!;
      const field = pick(fields);
      const roll = next();
      if (roll < 0.1) return { ...Object.fromEntries(fields.map((f) => [f.name, 'Проверка'])), evil: { $gt: '' } };
      return { [field.name]: hostileFor(field.type, next, depth + 1) };
    }
    switch (base.name) {
      case 'Int':
      case 'Float':
        return pick(HOSTILE_INT);
      case 'Boolean':
        return pick(['true', 0, 1, 'false', null]);
      case 'DateTime':
        return pick(HOSTILE_DATE);
      case 'JSON':
        return pick(HOSTILE_JSON);
      default:
        return pick(HOSTILE_TEXT);
    }
  }

  /** The hostile argument: for an input object, mostly a valid one with one field made hostile. */
  async function hostileArgument(operation: Operation, argument: InputValue, next: () => number): Promise<unknown> {
    const base = named(argument.type);
    if (base.kind !== 'INPUT_OBJECT' || unwrapped(argument.type).kind === 'LIST' || next() < 0.3) return hostileFor(argument.type, next);
    const valid = ((await baseline(operation, argument.name, argument.type)) ?? {}) as Record<string, unknown>;
    const fields = types.get(base.name!)!.inputFields!;
    const field = fields[Math.floor(next() * fields.length)];
    return { ...valid, [field.name]: hostileFor(field.type, next, 1) };
  }

  // ---------- writing a call ----------

  class Unwritable extends Error {}

  /** A GraphQL literal of a value at a position of this type (enum names bare, objects with Name keys). */
  function literal(value: unknown, type: TypeRef | null): string {
    const inner = type ? unwrapped(type) : null;
    if (value === null) return 'null';
    if (inner?.kind === 'LIST' && Array.isArray(value)) return `[${value.map((item) => literal(item, inner.ofType)).join(', ')}]`;
    const base = type ? named(type) : null;
    if (base?.kind === 'ENUM' && typeof value === 'string' && /^[_A-Za-z][_0-9A-Za-z]*$/.test(value)) return value;
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
    if (typeof value === 'boolean') return String(value);
    if (Array.isArray(value)) return `[${value.map((item) => literal(item, null)).join(', ')}]`;
    if (typeof value === 'object') {
      const fields = base?.kind === 'INPUT_OBJECT' ? types.get(base.name!)!.inputFields! : [];
      return `{ ${Object.entries(value as Record<string, unknown>)
        .map(([key, item]) => {
          if (!/^[_A-Za-z][_0-9A-Za-z]*$/.test(key)) throw new Unwritable(key);
          return `${key}: ${literal(item, fields.find((field) => field.name === key)?.type ?? null)}`;
        })
        .join(', ')} }`;
    }
    throw new Unwritable(typeof value);
  }

  function selection(operation: Operation): string {
    return named(operation.type).kind === 'OBJECT' ? ' { __typename }' : '';
  }

  async function send(operation: Operation, values: Record<string, unknown>, inline: boolean): Promise<Outcome> {
    const given = operation.args.filter((arg) => values[arg.name] !== undefined);
    let query: string;
    let variables: Record<string, unknown> = {};
    if (inline) {
      const args = given.map((arg) => `${arg.name}: ${literal(values[arg.name], arg.type)}`).join(', ');
      query = `${operation.root} Fuzz { ${operation.name}${args ? `(${args})` : ''}${selection(operation)} }`;
    } else {
      const declared = given.map((arg) => `$${arg.name}: ${printType(arg.type)}`).join(', ');
      const args = given.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
      query = `${operation.root} Fuzz${declared ? `(${declared})` : ''} { ${operation.name}${args ? `(${args})` : ''}${selection(operation)} }`;
      variables = Object.fromEntries(given.map((arg) => [arg.name, values[arg.name]]));
    }
    const result: GraphQLResult<unknown> = await admin.request(query, variables);
    const error = result.errors?.[0];
    return { status: result.status, code: error?.extensions?.code, message: error?.message, fields: error?.extensions?.fields as Record<string, string> | undefined };
  }

  /** Whether a refusal names the argument: a field path inside it (for JSON maps and input objects, the keys within). */
  function namesArgument(outcome: Outcome, argument: InputValue): boolean {
    const keys = Object.keys(outcome.fields ?? {});
    if (keys.some((key) => key === argument.name || key.startsWith(`${argument.name}.`))) return true;
    const base = named(argument.type);
    if (base.name === 'JSON') return keys.length > 0;
    if (base.kind === 'INPUT_OBJECT') {
      const inputFields = types.get(base.name!)!.inputFields!.map((field) => field.name);
      return keys.some((key) => inputFields.includes(key.split('.')[0]));
    }
    return false;
  }

  const signature = (outcome: Outcome) => JSON.stringify([outcome.code, outcome.message, Object.keys(outcome.fields ?? {}).sort()]);

  it(`answers ${CALLS} hostile calls without a 5xx, a masked error or a refusal that does not name the argument; every history chain verifies`, async () => {
    const next = random(SEED);
    const counts = { calls: 0, inline: 0, fiveHundreds: 0, masked: 0, unnamed: 0, refused: 0, accepted: 0 };
    const samples: string[] = [];
    const note = (kind: string, call: Call, outcome: Outcome) => {
      if (samples.length < 40)
        samples.push(
          `${kind}: ${call.operation.name}(${call.hostile}=${JSON.stringify(call.value)?.slice(0, 120)}) ${call.inline ? 'inline' : 'variables'} → ${JSON.stringify(outcome).slice(0, 300)}`,
        );
    };
    for (let index = 0; index < CALLS; index += 1) {
      const operation = operations[index % operations.length];
      const argument = operation.args[Math.floor(next() * operation.args.length)];
      const values: Record<string, unknown> = {};
      for (const arg of operation.args) values[arg.name] = await baseline(operation, arg.name, arg.type);
      const value = await hostileArgument(operation, argument, next);
      values[argument.name] = value;
      let inline = next() < 0.5;
      if (inline) {
        try {
          literal(value, argument.type);
        } catch (error) {
          if (!(error instanceof Unwritable)) throw error;
          inline = false;
        }
      }
      const call: Call = { operation, hostile: argument.name, value, inline };
      const outcome = await send(operation, values, inline);
      counts.calls += 1;
      if (inline) counts.inline += 1;
      if (outcome.status >= 500) {
        counts.fiveHundreds += 1;
        note('5xx', call, outcome);
        continue;
      }
      if (outcome.message === 'Unexpected error.') {
        counts.masked += 1;
        note('masked', call, outcome);
        continue;
      }
      if (outcome.message === undefined && outcome.status < 400) {
        counts.accepted += 1;
        continue;
      }
      counts.refused += 1;
      // Refusals about the sandbox rather than the argument (NOT_FOUND, CONFLICT, FORBIDDEN …) name no argument, rightly.
      if (outcome.code !== undefined && outcome.code !== 'BAD_USER_INPUT') continue;
      if (namesArgument(outcome, argument)) continue;
      // Not named: unless the same call with a valid value there is refused the same way, the hostile value caused it.
      values[argument.name] = await baseline(operation, argument.name, argument.type);
      if (signature(await send(operation, values, inline)) === signature(outcome)) continue;
      counts.unnamed += 1;
      note('unnamed', call, outcome);
    }

    const cardIds = await HistoryEntry.distinct('cardId');
    const broken: string[] = [];
    for (const cardId of cardIds) {
      const entries = await HistoryEntry.find({ cardId }).sort({ seq: 1 }).lean<HistoryEntryDoc[]>();
      const verdict = verifyChain(entries);
      if (!verdict.intact) broken.push(`${String(cardId)}: ${verdict.reason} at ${verdict.brokenAtSeq}`);
    }
    const health = await fetch(`${server.url}/healthz`);

    console.log(`      fuzz: ${JSON.stringify({ ...counts, seed: SEED, operations: operations.length, historyChains: cardIds.length, brokenChains: broken.length })}`);
    expect(samples, samples.join('\n')).to.deep.equal([]);
    expect({ fiveHundreds: counts.fiveHundreds, masked: counts.masked, unnamed: counts.unnamed }).to.deep.equal({ fiveHundreds: 0, masked: 0, unnamed: 0 });
    expect(broken).to.deep.equal([]);
    expect(cardIds.length).to.be.greaterThan(0);
    expect(health.status).to.equal(200);
  });
});
