/**
 * `$regex` as MongoDB reads it — PCRE syntax — matched in time linear in the text. JavaScript's
 * backtracking engine takes exponential time on a pattern such as `^(a+)+$` against `aaaa…b`, and
 * one such query held the whole server; MongoDB bounds PCRE with match limits. Here a pattern is
 * run by re2js (RE2's linear-time matching, in JavaScript); a pattern that is only a sequence of
 * characters and classes (no quantifier, group, alternation or `.`: at most one step per pattern
 * element at each position of the text) runs in V8's own engine, which is faster, with the same
 * answer. PCRE syntax JavaScript lacks is understood (`(?i)` and other inline flags, `\A`, `\z`,
 * `\Z`, `\Q…\E`, POSIX classes, the `x` and `s` options, `$` before a final newline); what cannot
 * run in linear time (backreferences, lookaround, atomic groups, possessive quantifiers, recursion,
 * verbs) is refused with NotImplemented (238), never answered wrongly; a pattern that is no
 * regular expression fails as MongoDB's does (51091).
 */
import { RE2JS } from 're2js';
import { CommandError } from './errors';

export type StringTest = (value: string) => boolean;

/** The options MongoDB accepts (`u` is always on: strings are UTF-8). */
const OPTIONS = new Set(['i', 'm', 's', 'x', 'u']);

function unsupported(what: string): CommandError {
  return new CommandError(
    238,
    'NotImplemented',
    `$regex: ${what} is not supported by Kartoteka's built-in database, whose regular expressions run in time linear in the text (RE2): write the pattern without it, or use MongoDB`,
  );
}

function invalid(why: string): CommandError {
  return new CommandError(51091, 'Location51091', `Regular expression is invalid: ${why}`);
}

/** A character as a V8 pattern (flag `u`) takes it literally. */
function literalForV8(char: string): string {
  return /[A-Za-z0-9]/.test(char) ? char : `\\u{${char.codePointAt(0)!.toString(16)}}`;
}

const GROUP_REFUSALS: [RegExp, string][] = [
  [/^\(\?<?[=!]/, 'lookaround ((?=…), (?!…), (?<=…), (?<!…))'],
  [/^\(\?>/, 'an atomic group ((?>…))'],
  [/^\(\?\|/, 'a branch reset group ((?|…))'],
  [/^\(\?\(/, 'a conditional group ((?(…)…))'],
  [/^\(\?(?:R|[+-]?\d|&|P>|P=)/, 'recursion or a subroutine call ((?R), (?1), (?&name))'],
  [/^\(\*/, 'a control verb ((*UCP), (*SKIP), …)'],
];

/** The escapes whose PCRE meaning RE2 lacks (or gives another meaning). */
const REFUSED_ESCAPES: Record<string, string> = {
  h: 'horizontal space (\\h)',
  H: 'non-horizontal space (\\H)',
  v: 'vertical space (\\v)',
  V: 'non-vertical space (\\V)',
  R: 'a newline sequence (\\R)',
  X: 'an extended grapheme cluster (\\X)',
  K: 'resetting the match start (\\K)',
  G: 'the first-match anchor (\\G)',
  C: 'a single code unit (\\C)',
  g: 'a backreference (\\g)',
  k: 'a backreference (\\k)',
};

interface Translation {
  /** The pattern in RE2's syntax. */
  re2: string;
  /** The same pattern for V8 (flag `u`) when it is only characters, classes and end anchors; else null. */
  v8: string | null;
}

/** A character class at `start` (`[…]`): its end, and its V8 form when it holds only characters, ranges and \d \w \D \W. */
function readClass(pattern: string, start: number): { end: number; v8: string | null } {
  let i = start + 1;
  let v8: string | null = '[';
  if (pattern[i] === '^') {
    v8 += '^';
    i++;
  }
  for (let first = true; i < pattern.length && (pattern[i] !== ']' || first); first = false) {
    if (pattern.startsWith('[:', i) || pattern.startsWith('[=', i) || pattern.startsWith('[.', i)) {
      const close = pattern.indexOf(`${pattern[i + 1]}]`, i + 2);
      if (close < 0) throw invalid('missing terminating ] for character class');
      v8 = null;
      i = close + 2;
      continue;
    }
    if (pattern[i] === '\\') {
      const escaped = pattern[i + 1];
      if (escaped === undefined) break;
      if (/[dwDW]/.test(escaped)) v8 &&= v8 + `\\${escaped}`;
      else if (/[A-Za-z0-9]/.test(escaped)) v8 = null;
      else v8 &&= v8 + literalForV8(escaped);
      i += 2;
      continue;
    }
    const char = String.fromCodePoint(pattern.codePointAt(i)!);
    v8 &&= v8 + (char === '-' ? '\\-' : literalForV8(char));
    i += char.length;
  }
  if (i >= pattern.length) throw invalid('missing terminating ] for character class');
  return { end: i + 1, v8: v8 && `${v8}]` };
}

/** Reads a PCRE pattern (with the `x` option: whitespace and #-comments outside classes ignored). */
function translate(pattern: string, extended: boolean, multiline: boolean): Translation {
  let re2 = '';
  let v8: string | null = '';
  let i = 0;
  const notForV8 = () => (v8 = null);
  const addV8 = (text: string | null) => (v8 = v8 === null || text === null ? null : v8 + text);
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (extended && /\s/.test(c)) {
      i++;
      continue;
    }
    if (extended && c === '#') {
      const newline = pattern.indexOf('\n', i);
      i = newline < 0 ? pattern.length : newline + 1;
      continue;
    }
    if (c === '\\') {
      const escaped = pattern[i + 1];
      if (escaped === undefined) throw invalid('\\ at end of pattern');
      i += 2;
      if (escaped === 'Q') {
        const end = pattern.indexOf('\\E', i);
        const literal = pattern.slice(i, end < 0 ? pattern.length : end);
        re2 += RE2JS.quote(literal);
        addV8([...literal].map(literalForV8).join(''));
        i = end < 0 ? pattern.length : end + 2;
      } else if (escaped === 'E') {
        // A \E without \Q is ignored, as in PCRE.
      } else if (/[1-9]/.test(escaped)) {
        throw unsupported(`a backreference (\\${escaped})`);
      } else if (REFUSED_ESCAPES[escaped]) {
        throw unsupported(REFUSED_ESCAPES[escaped]);
      } else if (escaped === 'Z') {
        // The end, or before a newline that ends the text (enough for a yes/no match).
        re2 += '(?:\\n?\\z)';
        notForV8();
      } else if (/[dwDWbB]/.test(escaped)) {
        re2 += `\\${escaped}`;
        addV8(`\\${escaped}`);
      } else if (/[A-Za-z0-9]/.test(escaped)) {
        re2 += `\\${escaped}`;
        notForV8();
      } else {
        const char = String.fromCodePoint(pattern.codePointAt(i - 1)!);
        re2 += RE2JS.quote(char);
        addV8(literalForV8(char));
        i += char.length - 1;
      }
      continue;
    }
    if (c === '[') {
      const cls = readClass(pattern, i);
      re2 += pattern.slice(i, cls.end);
      addV8(cls.v8);
      i = cls.end;
      continue;
    }
    if (c === '(') {
      notForV8();
      const rest = pattern.slice(i, i + 8);
      for (const [opener, what] of GROUP_REFUSALS) if (opener.test(rest)) throw unsupported(what);
      if (pattern.startsWith('(?#', i)) {
        const close = pattern.indexOf(')', i);
        if (close < 0) throw invalid('missing ) after (?# comment');
        i = close + 1;
        continue;
      }
      const flags = /^\(\?([A-Za-z]*)(?:-([A-Za-z]*))?[:)]/.exec(pattern.slice(i));
      if (flags) {
        const letters = `${flags[1]}${flags[2] ?? ''}`;
        const unknown = [...letters].find((letter) => !'imsU'.includes(letter));
        if (unknown) throw unsupported(`the inline option (?${unknown})`);
        re2 += flags[0];
        i += flags[0].length;
        continue;
      }
      // (?'name'…) is PCRE's other spelling of (?<name>…).
      const named = /^\(\?'([A-Za-z_]\w*)'/.exec(pattern.slice(i));
      if (named) {
        re2 += `(?P<${named[1]}>`;
        i += named[0].length;
        continue;
      }
      re2 += c;
      i++;
      continue;
    }
    const quantifier = '*+?'.includes(c) ? c : c === '{' ? /^\{\d+(?:,\d*)?\}/.exec(pattern.slice(i))?.[0] : undefined;
    if (quantifier) {
      notForV8();
      re2 += quantifier;
      i += quantifier.length;
      if (pattern[i] === '+') throw unsupported(`a possessive quantifier (${quantifier}+)`);
      if (pattern[i] === '?') {
        re2 += '?';
        i++;
      }
      continue;
    }
    if (c === '$') {
      // Without the m option PCRE's $ also matches before a newline that ends the text; RE2's does not.
      re2 += multiline ? '$' : '(?:\\n?\\z)';
      if (multiline || i !== pattern.length - 1) notForV8();
      else addV8('(?=\\n?$)');
      i++;
      continue;
    }
    if (c === '^') {
      re2 += '^';
      if (multiline || i !== 0) notForV8();
      else addV8('^');
      i++;
      continue;
    }
    if (c === '.' || c === '|' || c === ')') {
      notForV8();
      re2 += c;
      i++;
      continue;
    }
    const char = String.fromCodePoint(pattern.codePointAt(i)!);
    re2 += char === '{' || char === '}' || char === ']' ? `\\${char}` : char;
    addV8(literalForV8(char));
    i += char.length;
  }
  return { re2, v8 };
}

/** Compiles `$regex` with its `$options` (MongoDB's letters); throws MongoDB's errors for bad options and patterns. */
export function compileRegex(pattern: string, options: string): StringTest {
  const unknown = [...options].find((option) => !OPTIONS.has(option));
  if (unknown !== undefined) throw new CommandError(51108, 'Location51108', `invalid flag in regex options: ${unknown}`);
  const multiline = options.includes('m') || /\(\?[imsU]*m/.test(pattern);
  const { re2, v8 } = translate(pattern, options.includes('x'), multiline);
  if (v8 !== null) {
    const compiled = new RegExp(v8, options.includes('i') ? 'iu' : 'u');
    return (value) => compiled.test(value);
  }
  let compiled: RE2JS;
  try {
    const flags = (options.includes('i') ? RE2JS.CASE_INSENSITIVE : 0) | (options.includes('s') ? RE2JS.DOTALL : 0) | (options.includes('m') ? RE2JS.MULTILINE : 0);
    compiled = RE2JS.compile(re2, flags);
  } catch (error) {
    throw invalid((error as Error).message);
  }
  return (value) => compiled.test(value);
}

/**
 * MongoDB's options of a regex the BSON decoder made a JavaScript RegExp of: it turns option `s`
 * into the flag `g` (and drops `x` and `u`).
 */
export function optionsOfDecoded(regex: RegExp): string {
  return `${regex.ignoreCase ? 'i' : ''}${regex.multiline ? 'm' : ''}${regex.global || regex.dotAll ? 's' : ''}`;
}
