import { expect } from 'chai';
import { Types } from 'mongoose';
import { Components, groupDocs, groupLimits } from '../../../server/src/duplicates/groups';
import type { DuplicateEdge } from '../../../server/src/duplicates/model';

describe('duplicates: groups are bounded', () => {
  const ids = (count: number) => Array.from({ length: count }, () => new Types.ObjectId());
  const placesOf = (cards: Types.ObjectId[]) => {
    const [folderId, libraryId] = [new Types.ObjectId(), new Types.ObjectId()];
    return new Map(cards.map((id) => [String(id), { _id: id, folderId, libraryId }]));
  };

  it('joins pairs best first up to the limit of cards: a pair that would make a group larger is left out', () => {
    const parts = Components.of(
      [
        { a: 'a', b: 'b', score: 1 },
        { a: 'c', b: 'd', score: 0.9 },
        { a: 'b', b: 'c', score: 0.8 },
        { a: 'a', b: 'c', score: 0.75 },
        { a: 'd', b: 'e', score: 0.7 },
      ],
      { cards: 3, pairs: Infinity },
    );
    expect(parts.map(({ members, edges }) => [members.sort().join(''), edges.map((edge) => edge.a + edge.b)]).sort()).to.deep.equal([
      ['ab', ['ab']],
      ['cde', ['cd', 'de']],
    ]);
  });

  it('stores a chain of 2,500 alike cards as groups of at most 1,000, and a thousand names alike to each other with at most 10,000 of their pairs', () => {
    const chain = ids(2_500);
    const edges: DuplicateEdge[] = chain.slice(1).map((id, index) => ({ a: chain[index], b: id, rule: 'name', score: 0.8 }));
    const groups = groupDocs('counterparty', edges, placesOf(chain));
    expect(groups.map((group) => group.cardIds.length)).to.deep.equal([1_000, 1_000, 500]);

    const alike = ids(groupLimits.cards);
    const pairs: DuplicateEdge[] = alike.flatMap((a, i) => alike.slice(i + 1, i + 201).map((b, j) => ({ a, b, rule: 'name', score: 1 - j / 1000 })));
    const [group] = groupDocs('counterparty', pairs, placesOf(alike));
    expect(group.cardIds).to.have.length(1_000);
    expect(group.edges).to.have.length(10_000);
    expect(group.score).to.equal(1);
  });
});
