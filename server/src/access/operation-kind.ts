import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { requestOperation } from './changes';

/**
 * Tells the access layer which operation a GraphQL request runs, before its resolvers build the
 * actor: only a query may be answered from the previous access snapshot while a new one loads (changes.ts).
 */
export const useOperationKind = (): Plugin => ({
  onExecute({ args }) {
    requestOperation(getOperationAST(args.document, args.operationName)?.operation ?? 'mutation');
  },
  onSubscribe() {
    requestOperation('subscription');
  },
});
