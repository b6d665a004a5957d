import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { graphqlModules } from '../../server/src/app';
import { printedSchema } from '../../server/src/graphql/schema';
import { SCHEMA_FILE } from '../../server/src/paths';

describe('the GraphQL contract (schema.graphql)', () => {
  it('is the schema the server serves: run `npm run schema` after changing the API, and commit it', () => {
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    expect(committed === printedSchema(graphqlModules), 'schema.graphql is stale: run `npm run schema`').to.equal(true);
  });

  it('types card type definitions, field settings and change reports instead of passing JSON', () => {
    const schema = readFileSync(SCHEMA_FILE, 'utf8');
    const typeBlock = (name: string) => new RegExp(`type ${name} \\{([^}]*)\\}`).exec(schema)?.[1] ?? '';
    expect(typeBlock('CardType')).to.not.match(/: JSON/);
    expect(typeBlock('Field'))
      .to.match(/options: \[EnumOption!\]/)
      .and.match(/targets: \[String!\]/);
    expect(typeBlock('FieldChangeReport'))
      .to.match(/failures\(first: Int = 200\): \[ValueFailure!\]!/)
      .and.match(/duplicates\(first: Int = 200\): \[DuplicateGroup!\]!/)
      .and.match(/missingCount: Int!/);
    expect(typeBlock('Card')).to.match(/values: CardValues!/);
  });
});
