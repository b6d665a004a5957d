import { expect } from 'chai';
import { buildSchema, lexicographicSortSchema, printType, type GraphQLSchema } from 'graphql';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import russianRequisites from '../../plugins/russian-requisites';
import { contractFiles } from '../../scripts/api-contract';
import { graphqlModules } from '../../server/src/app';
import { pluginGraphQLModule } from '../../server/src/cards/plugin-graphql';
import { assembleSchema } from '../../server/src/graphql/schema';
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

  it('is the core’s alone: a plugin’s extensions (russian-requisites’ requisitesCheck) join the served schema, not the contract', () => {
    const contract = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(contract.getQueryType()?.getFields()).to.not.have.property('requisitesCheck');
    const served = lexicographicSortSchema(assembleSchema([...graphqlModules, pluginGraphQLModule(russianRequisites)!]));
    expect(printType(served.getType('RequisitesCheck')!)).to.match(/holders: \[RequisitesHolder!\]!/);
    // Every type of the contract is served as it is; Query gains the plugin's field and nothing else changes.
    for (const [name, type] of Object.entries(contract.getTypeMap())) {
      if (name === 'Query' || name.startsWith('__')) continue;
      expect(printType(served.getType(name)!), name).to.equal(printType(type));
    }
    const queryFields = (schema: GraphQLSchema) => Object.keys(schema.getQueryType()?.getFields() ?? {}).sort();
    expect(queryFields(served)).to.deep.equal([...queryFields(contract), 'requisitesCheck'].sort());
  });
});
