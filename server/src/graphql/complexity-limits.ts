import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { message } from '../i18n';
import { requestLocale, type GraphQLContext } from './context';

const LIMITS = { depth: 'tooDeepQuery', aliases: 'tooManyAliases' } as const;
type Limit = keyof typeof LIMITS;

/** graphql-armor's refusal, said without its words («Syntax Error: …», English): the code, which limit and its value. */
const refuse =
  (limit: Limit, max: number) =>
  (validation: ValidationContext | null): void =>
    validation?.reportError(new GraphQLError(limit, { extensions: { code: 'TOO_COMPLEX', limit, max } }));

/**
 * Deeply nested and much-aliased queries are refused before they run (graphql-armor's rules), with
 * `TOO_COMPLEX` and a message in the user's language like the other limits' (s10 attack A5). The
 * words are put in after validation, for every request, since validation results are cached per query.
 */
export function useComplexityLimits({ maxDepth, maxAliases }: { maxDepth: number; maxAliases: number }): Plugin<GraphQLContext> {
  const depthRule = maxDepthRule({ n: maxDepth, ignoreIntrospection: true, propagateOnRejection: false, onReject: [refuse('depth', maxDepth)] });
  const aliasesRule = maxAliasesRule({ n: maxAliases, propagateOnRejection: false, onReject: [refuse('aliases', maxAliases)] });
  return {
    onValidate({ context, addValidationRule }) {
      addValidationRule(depthRule);
      addValidationRule(aliasesRule);
      return ({ valid, result, setResult }) => {
        if (valid) return;
        const locale = requestLocale(context.koa);
        setResult(
          result.map((error) => {
            if (error.extensions.code !== 'TOO_COMPLEX') return error;
            const { limit, max } = error.extensions as { limit: Limit; max: number };
            return new GraphQLError(message(locale, LIMITS[limit], { max }), { extensions: error.extensions });
          }),
        );
      };
    },
  };
}
