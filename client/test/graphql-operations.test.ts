/**
 * The client's operations are typed from schema.graphql by gql.tada. The `@ts-expect-error` lines
 * below are checked by `npm run typecheck` (vue-tsc reads client/test): if a missing or wrongly
 * typed variable stopped being an error, typecheck would fail on the unused directive. (Misspelled
 * fields are found by `gql.tada check`, the last step of typecheck: test/unit/graphql-client-check.test.ts.)
 * The tests themselves check what goes over the wire.
 */
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { graphql, GraphQLRequestError, request } from '../src/api/graphql';

const Person = graphql(`fragment Person on User { id fullName }`);
const CardWithPeople = graphql(`fragment CardWithPeople on Card { id title createdBy { ...Person } }`, [Person]);
const CardWithAuthor = graphql(`query CardWithAuthor($id: ID!) { card(id: $id) { ...CardWithPeople } viewer { user { ...Person } } }`, [CardWithPeople, Person]);

const fetchMock = vi.fn();
vi.stubGlobal('fetch', fetchMock);
afterEach(() => fetchMock.mockReset());

const answer = (payload: unknown, status = 200) =>
  fetchMock.mockResolvedValueOnce(new Response(JSON.stringify(payload), { status, headers: { 'content-type': 'application/json' } }));
const sentBody = () => JSON.parse(fetchMock.mock.calls[0][1].body as string) as { query: string; variables: Record<string, unknown> };

describe('typed GraphQL operations', () => {
  it('sends the operation with each fragment it uses once, and returns the typed data', async () => {
    answer({ data: { card: { id: 'c1', title: 'Договор 1', createdBy: { id: 'u1', fullName: 'Татьяна' } }, viewer: { user: { id: 'u1', fullName: 'Татьяна' } } } });
    const data = await request(CardWithAuthor, { id: 'c1' });
    expectTypeOf(data.card).toEqualTypeOf<{ id: string; title: string; createdBy: { id: string; fullName: string } | null } | null>();
    expect(data.card?.createdBy?.fullName).toBe('Татьяна');
    const { query, variables } = sentBody();
    expect(variables).toEqual({ id: 'c1' });
    expect(query.match(/fragment Person on User/g)).toHaveLength(1);
    expect(query.match(/fragment CardWithPeople on Card/g)).toHaveLength(1);
    expect(query.startsWith('query CardWithAuthor($id: ID!)')).toBe(true);
  });

  it('requires the variables the operation declares, typed', async () => {
    answer({ data: { card: null, viewer: null } });
    // @ts-expect-error `id` is required
    await request(CardWithAuthor);
    answer({ data: { card: null, viewer: null } });
    // @ts-expect-error `id` is an ID (a string), not a number
    await request(CardWithAuthor, { id: 1 });
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('turns a server error into GraphQLRequestError with its code and per-field messages', async () => {
    answer({ errors: [{ message: 'Проверьте поля', extensions: { code: 'BAD_USER_INPUT', fields: { name: 'Обязательное поле' } } }] });
    const error = await request(CardWithAuthor, { id: 'c1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphQLRequestError);
    expect(error).toMatchObject({ message: 'Проверьте поля', code: 'BAD_USER_INPUT', fields: { name: 'Обязательное поле' } });
  });
});
