import type { IResolvers } from '@graphql-tools/utils';
import type { GraphQLContext } from './context';

/** A domain's part of the API: its SDL (using `extend type Query/Mutation`) and resolvers. */
export interface GraphQLModule {
  typeDefs: string;
  resolvers: IResolvers<unknown, GraphQLContext>;
}
