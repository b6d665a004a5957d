import {
  GraphQLError,
  isInputObjectType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  Lexer,
  Source,
  TokenKind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ASTNode,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
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
 * - refusals of argument values (by the lexer, by validation, by variable coercion) are
 *   BAD_USER_INPUT naming the place in `extensions.fields`, like every refusal by a service: a
 *   required argument or input field left out or null is «Обязательное поле» at its place, just as an
 *   empty value is (see `Place` for how places are named);
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
/** What is wrong with a number of rows asked for at once: every page has 1 to `INPUT_LIMITS.rows` (0 or −5 is not taken as 1). */
const pageRowsProblem = (rows: number): MessageKey | undefined => (rows < 1 ? 'tooFewRows' : rows > INPUT_LIMITS.rows ? 'tooManyRows' : undefined);
const INT_RANGE = 2 ** 31;

type FieldMessages = Record<string, string>;

function refusal(locale: Locale, fields: FieldMessages): UserInputError {
  return new UserInputError(message(locale, 'invalidInput'), fields);
}

// ---------- the query text ----------

type Frame = { kind: 'selection' | 'arguments' | 'variables' | 'object' | 'list'; key?: string };

/**
 * The place in an argument a position in the query text belongs to (see `Place`): `name` for a
 * position inside `createFolder(input: { name: … })` — an argument written as an object holds keys
 * of its own — and `entries.level` inside a list.
 */
function argumentPath(frames: Frame[], keyed: ReadonlySet<string>): string | undefined {
  const start = frames.findIndex((frame) => frame.kind === 'arguments' || frame.kind === 'variables');
  if (start < 0) return undefined;
  const keys = frames
    .slice(start)
    .filter((frame) => frame.kind !== 'list' && frame.key !== undefined)
    .map((frame) => frame.key!);
  // Before parsing, an argument is known by its name only: one that takes an input object or a map
  // somewhere in the schema holds keys of its own; an object written for any other (a String) does not.
  const object = frames[start].kind === 'arguments' && frames[start + 1]?.kind === 'object' && keyed.has(keys[0]);
  return keys.length > 0 ? (object && keys.length > 1 ? keys.slice(1) : keys).join('.') : undefined;
}

const OPENING = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.PAREN_L, TokenKind.BRACKET_L]);
const CLOSING = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.PAREN_R, TokenKind.BRACKET_R]);

/**
 * Lexes the query text (iteratively: no recursion) and refuses it when it is too large or too deep,
 * or when a value in it cannot be read; refusals inside an argument name the argument.
 */
function checkQueryText(text: string, locale: Locale, keyed: ReadonlySet<string>): void {
  const lexer = new Lexer(new Source(text));
  const frames: Frame[] = [];
  const refuse = (key: MessageKey, params: Record<string, string | number> = {}, detail?: string) => {
    const text = detail ?? message(locale, key, params);
    throw refusal(locale, { [argumentPath(frames, keyed) ?? 'query']: text });
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
      if (!(error instanceof GraphQLError) || !argumentPath(frames, keyed)) return; // the parser reports it as usual
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

/**
 * Where a value sits, as `extensions.fields` names it. The contract (schema.graphql, «Refusals of
 * input»): a path starts at the argument (`folderId`, `entries.0.level`), except inside an argument
 * that is an input object or a map of values — `input`, `definition`, `values` — where it starts
 * inside it (`name`, `fields.2.key`, `title`), as the services name what they refuse.
 */
interface Place {
  /** The argument's name. */
  argument: string;
  /** The argument is an input object or a map: paths inside it leave its name out. */
  object: boolean;
  /** Keys and list positions below the argument. */
  inner: string[];
}

const placePath = (place: Place, more: string[] = []): string => {
  const inner = [...place.inner, ...more];
  return place.object && inner.length > 0 ? inner.join('.') : [place.argument, ...inner].join('.');
};

interface ArgumentMap {
  /** Value nodes under an argument, with the place they fill. */
  nodes: Map<ASTNode, Place>;
  /** Variables used as (part of) an argument: `$f` → `folderId`. */
  variables: Map<string, Place>;
  /** Integers written in the query: out of GraphQL's 32-bit range, or more rows than any page has. */
  oversized: Map<string, MessageKey>;
}

// Documents come from yoga's parse cache: one walk per query text, not per request.
const argumentMaps = new WeakMap<DocumentNode, ArgumentMap>();

function argumentMap(document: DocumentNode, schema: GraphQLSchema): ArgumentMap {
  let known = argumentMaps.get(document);
  if (!known) {
    known = mapArguments(document, schema);
    argumentMaps.set(document, known);
  }
  return known;
}

/** Scalars whose values are maps of keys (a card's values, a field's fill-in value), not single values like DateTime. */
const MAP_SCALARS = new Set(['JSON', 'CardValues']);

/** Input objects and the map scalars hold keys of their own. */
const holdsKeys = (type: GraphQLInputType | undefined): boolean => {
  const bare = type && isNonNullType(type) ? type.ofType : type;
  return bare !== undefined && (isInputObjectType(bare) || (isScalarType(bare) && MAP_SCALARS.has(bare.name)));
};

const VALUE_KINDS = new Set<Kind>([Kind.VARIABLE, Kind.INT, Kind.FLOAT, Kind.STRING, Kind.BOOLEAN, Kind.NULL, Kind.ENUM, Kind.LIST, Kind.OBJECT]);

function mapArguments(document: DocumentNode, schema: GraphQLSchema): ArgumentMap {
  const nodes = new Map<ASTNode, Place>();
  const variables = new Map<string, Place>();
  const oversized = new Map<string, MessageKey>();
  const typeInfo = new TypeInfo(schema);
  let argument: Omit<Place, 'inner'> | null = null;
  const inner: string[] = [];
  // A list item takes its position as a step of the path.
  const step = (node: ASTNode, key: string | number | undefined): string | undefined => {
    if (node.kind === Kind.OBJECT_FIELD) return node.name.value;
    return typeof key === 'number' && VALUE_KINDS.has(node.kind) ? String(key) : undefined;
  };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      enter(node, key) {
        if (node.kind === Kind.ARGUMENT) {
          argument = { argument: node.name.value, object: holdsKeys(typeInfo.getArgument()?.type) };
          return;
        }
        if (!argument) return;
        const name = step(node, key);
        if (name !== undefined) inner.push(name);
        const place: Place = { ...argument, inner: [...inner] };
        nodes.set(node, place);
        if (node.kind === Kind.VARIABLE && !variables.has(node.name.value)) variables.set(node.name.value, place);
        if (node.kind === Kind.INT) {
          const value = Number(node.value);
          const last = inner.at(-1) ?? argument.argument;
          if (Math.abs(value) >= INT_RANGE) oversized.set(placePath(place), 'wrongArgumentType');
          else if (PAGE_ARGUMENTS.has(last)) {
            const rows = pageRowsProblem(value);
            if (rows) oversized.set(placePath(place), rows);
          }
        }
      },
      leave(node, key) {
        if (node.kind === Kind.ARGUMENT) argument = null;
        else if (argument && step(node, key) !== undefined) inner.pop();
      },
    }),
  );
  return { nodes, variables, oversized };
}

// ---------- variables ----------

/** With the `u` flag a surrogate pair is one code point: only a lone surrogate matches. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Walks the variables as sent (iteratively, depth-bounded) for text that cannot be stored as sent
 * and for nesting deeper than any argument takes; messages are keyed by argument path.
 */
/** Where a variable goes: its argument, or — for a variable no argument takes — its own name. */
const variablePlace = (names: Map<string, Place>, name: string): Place => names.get(name) ?? { argument: `$${name}`, object: false, inner: [] };

function checkVariables(variables: Record<string, unknown>, names: Map<string, Place>, locale: Locale): FieldMessages | null {
  const fields: FieldMessages = {};
  const stack: { value: unknown; place: Place; keys: string[] }[] = Object.entries(variables).map(([name, value]) => ({ value, place: variablePlace(names, name), keys: [] }));
  while (stack.length > 0) {
    const { value, place, keys } = stack.pop()!;
    const path = placePath(place, keys);
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) fields[path] ??= message(locale, 'illFormedText');
      continue;
    }
    const rows = typeof value === 'number' && keys.length === 0 && PAGE_ARGUMENTS.has(place.inner.at(-1) ?? place.argument) ? pageRowsProblem(value) : undefined;
    if (rows) {
      fields[path] ??= message(locale, rows, { max: INPUT_LIMITS.rows });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (keys.length >= INPUT_LIMITS.valueDepth) {
      fields[path] ??= message(locale, 'tooDeep', { max: INPUT_LIMITS.valueDepth });
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key)) {
        fields[path] ??= message(locale, 'illFormedText');
        continue;
      }
      stack.push({ value: item, place, keys: [...keys, key] });
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

/** graphql-js's words for a value that is missing or null where one is required. */
const MISSING_ARGUMENT = /^Field "[^"]+" argument "([^"]+)" of type "[^"]+" is required, but it was not provided\./;
const MISSING_FIELD = /Field "(?:[^".]+\.)?([^".]+)" of required type "[^"]+" was not provided\./;
const NULL_GIVEN = /(?:must not be null|of required type "[^"]+" was not provided|not to be null)/;

/**
 * A variable coercion error ("Variable "$v" got invalid value … at "v.x"; …") at the argument it
 * fills: a missing or null required value is «Обязательное поле» there, as a service would say it.
 */
function coercionFields(error: GraphQLError, names: Map<string, Place>, locale: Locale): FieldMessages | null {
  const node = error.nodes?.[0];
  if (node?.kind !== Kind.VARIABLE_DEFINITION) return null;
  const name = node.variable.name.value;
  // graphql-js writes the place as `v.entries[0].level`.
  const at = / at "([^"]+)"/.exec(error.message)?.[1];
  const keys =
    at && (at === name || at.startsWith(`${name}.`) || at.startsWith(`${name}[`))
      ? at
          .slice(name.length)
          .replace(/\[(\d+)\]/g, '.$1')
          .split('.')
          .filter(Boolean)
      : [];
  const field = MISSING_FIELD.exec(error.message)?.[1];
  if (field) return { [placePath(variablePlace(names, name), [...keys, field])]: message(locale, 'required') };
  const required = NULL_GIVEN.test(error.message);
  return { [placePath(variablePlace(names, name), keys)]: message(locale, required ? 'required' : 'wrongArgumentType') };
}

/** A validation error about an argument's value at its place; a required argument or input field left out is «Обязательное поле». */
function validationFields(error: GraphQLError, nodes: Map<ASTNode, Place>, locale: Locale): FieldMessages | null {
  const argument = MISSING_ARGUMENT.exec(error.message)?.[1];
  if (argument) return { [argument]: message(locale, 'required') };
  const place = error.nodes?.[0] && nodes.get(error.nodes[0]);
  if (!place) return null;
  const field = MISSING_FIELD.exec(error.message)?.[1];
  if (field) return { [placePath(place, [field])]: message(locale, 'required') };
  return { [placePath(place)]: message(locale, 'wrongArgumentType') };
}

/** Names of the arguments that take an input object or a map (`input`, `definition`, `values`) on some field of the schema. */
function keyedArguments(schema: GraphQLSchema): Set<string> {
  const names = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      for (const argument of field.args) if (holdsKeys(argument.type)) names.add(argument.name);
    }
  }
  return names;
}

export function useInputGuard(options: { production: boolean; schema: GraphQLSchema }): Plugin<GraphQLContext> {
  const { production } = options;
  const keyed = keyedArguments(options.schema);
  return {
    onParse({ context, setParseFn, parseFn }) {
      const locale = requestLocale(context.koa);
      setParseFn((source, parseOptions) => {
        checkQueryText(typeof source === 'string' ? source : source.body, locale, keyed);
        return parseFn(source, parseOptions);
      });
    },
    onValidate({ context, params, setResult: refuse }) {
      // Before the cost limit, which multiplies by `first` and would refuse without naming it.
      const { oversized } = argumentMap(params.documentAST, params.schema);
      if (oversized.size > 0) {
        const locale = requestLocale(context.koa);
        refuse([refusal(locale, Object.fromEntries([...oversized].map(([path, key]) => [path, message(locale, key, { max: INPUT_LIMITS.rows })])))]);
        return;
      }
      return ({ valid, result, setResult }) => {
        if (valid) return;
        const locale = requestLocale(context.koa);
        const { nodes } = argumentMap(params.documentAST, params.schema);
        setResult(result.map((error) => withFields(error, validationFields(error, nodes, locale), production)));
      };
    },
    onExecute({ args, setResultAndStopExecution }) {
      const { locale } = args.contextValue;
      const { variables } = argumentMap(args.document, args.schema);
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
