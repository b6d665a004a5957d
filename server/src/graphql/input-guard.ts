import { GraphQLError, Kind, Lexer, Source, TokenKind, visit, type ASTNode, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { UserInputError } from '../errors';
import { message, type Locale, type MessageKey } from '../i18n';
import { requestLocale, type GraphQLContext } from './context';

/**
 * What every request's input goes through before a resolver sees it, in one place:
 * - the query text is lexed once before parsing: too many tokens or too deep a nesting are
 *   refused (the parser is recursive, and 2,000 nested brackets would overflow its stack);
 * - text that cannot be stored as it was sent (a lone UTF-16 surrogate) is refused, inline or in
 *   variables, and so are variables nested deeper than any argument needs;
 * - refusals of argument values (by the lexer, by validation, by variable coercion) name the
 *   argument in `extensions.fields`, like every other BAD_USER_INPUT;
 * - in production, "Did you mean …" suggestions do not reveal the schema.
 */
export const INPUT_LIMITS = {
  /** Tokens in a query text. The largest query the client sends has about 1,000. */
  tokens: 5_000,
  /** Nested brackets ({ ( [) in a query text. */
  nesting: 40,
  /** Nesting of objects and lists in variables. */
  valueDepth: 32,
  /**
   * Rows asked for at once (`first`/`last`): every list pages far below this, and the cost limit
   * multiplies by it, so a larger number is refused at the argument rather than as "too costly".
   */
  rows: 1_000,
};

const PAGE_ARGUMENTS = new Set(['first', 'last']);
const INT_RANGE = 2 ** 31;

type FieldMessages = Record<string, string>;

function refusal(locale: Locale, fields: FieldMessages): UserInputError {
  return new UserInputError(message(locale, 'invalidInput'), fields);
}

// ---------- the query text ----------

type Frame = { kind: 'selection' | 'arguments' | 'variables' | 'object' | 'list'; key?: string };

/** The argument (and input field) a position in the query text belongs to, e.g. `input.login`. */
function argumentPath(frames: Frame[]): string | undefined {
  const start = frames.findIndex((frame) => frame.kind === 'arguments' || frame.kind === 'variables');
  if (start < 0) return undefined;
  const keys = frames.slice(start).filter((frame) => frame.kind !== 'list' && frame.key !== undefined).map((frame) => frame.key!);
  return keys.length > 0 ? keys.join('.') : undefined;
}

const OPENING = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.PAREN_L, TokenKind.BRACKET_L]);
const CLOSING = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.PAREN_R, TokenKind.BRACKET_R]);

/**
 * Lexes the query text (iteratively: no recursion) and refuses it when it is too large or too deep,
 * or when a value in it cannot be read; refusals inside an argument name the argument.
 */
function checkQueryText(text: string, locale: Locale): void {
  const lexer = new Lexer(new Source(text));
  const frames: Frame[] = [];
  const refuse = (key: MessageKey, params: Record<string, string | number> = {}, detail?: string) => {
    const text = detail ?? message(locale, key, params);
    throw refusal(locale, { [argumentPath(frames) ?? 'query']: text });
  };
  let previous: TokenKind | undefined;
  let previousName = '';
  let tokens = 0;
  for (;;) {
    let kind: TokenKind;
    try {
      const token = lexer.advance();
      kind = token.kind;
      if (kind === TokenKind.NAME) previousName = token.value;
    } catch (error) {
      if (!(error instanceof GraphQLError) || !argumentPath(frames)) return; // the parser reports it as usual
      const illFormed = /Invalid Unicode escape sequence|Invalid character within String/.test(error.message);
      return refuse('illFormedText', {}, illFormed ? undefined : error.message.replace(/^Syntax Error: /, ''));
    }
    if (kind === TokenKind.EOF) return;
    if (++tokens > INPUT_LIMITS.tokens) refuse('queryTooLarge', { max: INPUT_LIMITS.tokens });
    if (OPENING.has(kind)) {
      const top = frames.at(-1);
      const inValue = top !== undefined && top.kind !== 'selection';
      frames.push({ kind: kind === TokenKind.BRACKET_L ? 'list' : kind === TokenKind.PAREN_L ? (top ? 'arguments' : 'variables') : inValue ? 'object' : 'selection' });
      if (frames.length > INPUT_LIMITS.nesting) refuse('tooDeep', { max: INPUT_LIMITS.nesting });
    } else if (CLOSING.has(kind)) {
      frames.pop();
    } else if (kind === TokenKind.COLON && previous === TokenKind.NAME) {
      const top = frames.at(-1);
      if (top && top.kind !== 'selection') top.key = top.kind === 'variables' ? `$${previousName}` : previousName;
    }
    previous = kind;
  }
}

// ---------- arguments in the parsed document ----------

interface ArgumentMap {
  /** Value nodes under an argument, with the argument path they belong to. */
  nodes: Map<ASTNode, string>;
  /** Variables used as (part of) an argument: `$f` → `folderId`. */
  variables: Map<string, string>;
  /** Integers written in the query: out of GraphQL's 32-bit range, or more rows than any page has. */
  oversized: Map<string, MessageKey>;
}

// Documents come from yoga's parse cache: one walk per query text, not per request.
const argumentMaps = new WeakMap<DocumentNode, ArgumentMap>();

function argumentMap(document: DocumentNode): ArgumentMap {
  let known = argumentMaps.get(document);
  if (!known) {
    known = mapArguments(document);
    argumentMaps.set(document, known);
  }
  return known;
}

function mapArguments(document: DocumentNode): ArgumentMap {
  const nodes = new Map<ASTNode, string>();
  const variables = new Map<string, string>();
  const oversized = new Map<string, MessageKey>();
  const path: string[] = [];
  visit(document, {
    enter(node) {
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) path.push(node.name.value);
      if (path.length === 0) return;
      const at = path.join('.');
      nodes.set(node, at);
      if (node.kind === Kind.VARIABLE && !variables.has(node.name.value)) variables.set(node.name.value, at);
      if (node.kind === Kind.INT) {
        const value = Number(node.value);
        if (Math.abs(value) >= INT_RANGE) oversized.set(at, 'wrongArgumentType');
        else if (PAGE_ARGUMENTS.has(path.at(-1)!) && value > INPUT_LIMITS.rows) oversized.set(at, 'tooManyRows');
      }
    },
    leave(node) {
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) path.pop();
    },
  });
  return { nodes, variables, oversized };
}

// ---------- variables ----------

/** With the `u` flag a surrogate pair is one code point: only a lone surrogate matches. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Walks the variables as sent (iteratively, depth-bounded) for text that cannot be stored as sent
 * and for nesting deeper than any argument takes; messages are keyed by argument path.
 */
function checkVariables(variables: Record<string, unknown>, names: Map<string, string>, locale: Locale): FieldMessages | null {
  const fields: FieldMessages = {};
  const stack: { value: unknown; path: string; depth: number }[] = Object.entries(variables).map(([name, value]) => ({ value, path: names.get(name) ?? `$${name}`, depth: 0 }));
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) fields[path] ??= message(locale, 'illFormedText');
      continue;
    }
    if (typeof value === 'number' && depth === 0 && PAGE_ARGUMENTS.has(path.split('.').at(-1)!) && value > INPUT_LIMITS.rows) {
      fields[path] ??= message(locale, 'tooManyRows', { max: INPUT_LIMITS.rows });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= INPUT_LIMITS.valueDepth) {
      fields[path] ??= message(locale, 'tooDeep', { max: INPUT_LIMITS.valueDepth });
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key)) {
        fields[path] ??= message(locale, 'illFormedText');
        continue;
      }
      stack.push({ value: item, path: `${path}.${key}`, depth: depth + 1 });
    }
  }
  return Object.keys(fields).length > 0 ? fields : null;
}

// ---------- errors ----------

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function withFields(error: GraphQLError, fields: FieldMessages | null, production: boolean): GraphQLError {
  const text = production ? error.message.replace(SUGGESTION, '') : error.message;
  if (!fields && text === error.message) return error;
  return new GraphQLError(text, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: fields ? { ...error.extensions, code: 'BAD_USER_INPUT', fields } : error.extensions,
  });
}

/** A variable coercion error ("Variable "$v" got invalid value … at "v.x"") at the argument it fills. */
function coercionFields(error: GraphQLError, names: Map<string, string>, locale: Locale): FieldMessages | null {
  const node = error.nodes?.[0];
  if (node?.kind !== Kind.VARIABLE_DEFINITION) return null;
  const name = node.variable.name.value;
  // graphql-js writes the place as `entries[0].level`; field messages use `entries.0.level`.
  const inner = / at "([^"]+)"/.exec(error.message)?.[1]?.replace(/\[(\d+)\]/g, '.$1');
  const base = names.get(name) ?? `$${name}`;
  const path = inner && inner.startsWith(name) ? `${base}${inner.slice(name.length)}` : base;
  return { [path]: message(locale, 'wrongArgumentType') };
}

export function useInputGuard(options: { production: boolean }): Plugin<GraphQLContext> {
  const { production } = options;
  return {
    onParse({ context, setParseFn, parseFn }) {
      const locale = requestLocale(context.koa);
      setParseFn((source, parseOptions) => {
        checkQueryText(typeof source === 'string' ? source : source.body, locale);
        return parseFn(source, parseOptions);
      });
    },
    onValidate({ context, params, setResult: refuse }) {
      // Before the cost limit, which multiplies by `first` and would refuse without naming it.
      const { oversized } = argumentMap(params.documentAST);
      if (oversized.size > 0) {
        const locale = requestLocale(context.koa);
        refuse([refusal(locale, Object.fromEntries([...oversized].map(([path, key]) => [path, message(locale, key, { max: INPUT_LIMITS.rows })])))]);
        return;
      }
      return ({ valid, result, setResult }) => {
        if (valid) return;
        const locale = requestLocale(context.koa);
        const { nodes } = argumentMap(params.documentAST);
        setResult(
          result.map((error) => {
            const path = error.nodes?.[0] && nodes.get(error.nodes[0]);
            return withFields(error, path ? { [path]: message(locale, 'wrongArgumentType') } : null, production);
          }),
        );
      };
    },
    onExecute({ args, setResultAndStopExecution }) {
      const { locale } = args.contextValue;
      const { variables } = argumentMap(args.document);
      const problems = checkVariables(args.variableValues ?? {}, variables, locale);
      if (problems) {
        setResultAndStopExecution({ errors: [refusal(locale, problems)] });
        return;
      }
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const single = result as ExecutionResult;
          if (!single.errors || single.data !== undefined) return;
          setResult({ ...single, errors: single.errors.map((error) => withFields(error, coercionFields(error, variables, locale), production)) });
        },
      };
    },
  };
}
