import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { contractFiles } from '../../scripts/api-contract';
import { SCHEMA_FILE } from '../../server/src/paths';

describe('the GraphQL contract (schema.graphql)', () => {
  it('is the schema the server serves, and the client types its operations from it: run `npm run schema` after changing the API, and commit both files', () => {
    const files = contractFiles();
    expect(files.map(({ file }) => path.basename(file))).to.deep.equal(['schema.graphql', 'graphql-env.d.ts']);
    for (const { file, text } of files) expect(readFileSync(file, 'utf8') === text, `${path.basename(file)} is stale: run \`npm run schema\``).to.equal(true);
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
