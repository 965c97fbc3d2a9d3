/**
 * A parser for the subset of ECMAScript regular expressions that the routing DFA executes itself
 * (issue 2, point 11): literals, `.`, character classes, `\d \w \D \W`, groups (plain, named,
 * non-capturing), alternation, the quantifiers `* + ? {n,m}` (greedy or lazy: for `test()` the
 * language is the same), and the assertions `^` and `$`. Everything else (lookaround, back
 * references, `\b`, `\s`, non-ASCII literals, inline modifiers) makes `parseRegex` return null,
 * and the caller falls back to `RegExp.prototype.test` for that one regex.
 *
 * The semantics are those of a non-unicode, non-multiline, case-sensitive JS regex: input is a
 * sequence of UTF-16 code units, `.` matches every unit except \n, \r, U+2028 and U+2029.
 */

/** Input symbols: code units 0–127 are themselves, U+2028/U+2029 are 128, every other unit is 129. */
export const ALPHABET = 130;
/** The input symbol of U+2028 and U+2029, the line terminators beyond ASCII. */
const LS_SYMBOL = 128;
/** The symbols of the line terminators, the units `.` does not match: \n, \r, U+2028/U+2029. */
export const LINE_TERMINATOR_SYMBOLS: readonly number[] = [10, 13, LS_SYMBOL];
const OTHER_SYMBOL = 129;

/** Maps a UTF-16 code unit to its input symbol. */
export function symbolOf(unit: number): number {
  if (unit < 128) return unit;
  return unit === 0x2028 || unit === 0x2029 ? LS_SYMBOL : OTHER_SYMBOL;
}

/** The parsed form of a supported regex. `set` has one byte per input symbol (1 = matches). */
export type RegexNode =
  | { readonly kind: 'chars'; readonly set: Uint8Array }
  | { readonly kind: 'seq'; readonly items: readonly RegexNode[] }
  | { readonly kind: 'alt'; readonly items: readonly RegexNode[] }
  | { readonly kind: 'repeat'; readonly item: RegexNode; readonly min: number; readonly max: number }
  | { readonly kind: 'start' }
  | { readonly kind: 'end' };

/** Thrown inside the parser when the pattern leaves the supported subset. */
class Unsupported extends Error {}

const MAX_REPEAT = 100;
const QUANTIFIER = /^\{(\d+)(?:(,)(\d*))?\}/;

function setOf(pred: (sym: number) => boolean): Uint8Array {
  const set = new Uint8Array(ALPHABET);
  for (let s = 0; s < ALPHABET; s++) set[s] = pred(s) ? 1 : 0;
  return set;
}

const isDigit = (s: number): boolean => s >= 48 && s <= 57;
const isWord = (s: number): boolean => isDigit(s) || (s >= 65 && s <= 90) || (s >= 97 && s <= 122) || s === 95;
const CLASS_ESCAPES: Record<string, (s: number) => boolean> = {
  d: isDigit,
  D: (s) => !isDigit(s),
  w: isWord,
  W: (s) => !isWord(s),
};
const CONTROL_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11 };

/** Parses `source`; null when it is outside the supported subset. Assumes `new RegExp(source)` succeeds. */
export function parseRegex(source: string): RegexNode | null {
  try {
    const p = new Parser(source);
    const node = p.alternation();
    if (!p.done()) return null;
    return node;
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}

class Parser {
  private pos = 0;
  private readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  done(): boolean {
    return this.pos >= this.src.length;
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  alternation(): RegexNode {
    const items = [this.sequence()];
    while (this.peek() === '|') {
      this.pos++;
      items.push(this.sequence());
    }
    return items.length === 1 ? items[0]! : { kind: 'alt', items };
  }

  private sequence(): RegexNode {
    const items: RegexNode[] = [];
    while (!this.done() && this.peek() !== '|' && this.peek() !== ')') items.push(this.term());
    return items.length === 1 ? items[0]! : { kind: 'seq', items };
  }

  private term(): RegexNode {
    const atom = this.atom();
    const q = this.quantifier();
    if (q === null) return atom;
    if (atom.kind === 'start' || atom.kind === 'end') throw new Unsupported();
    if (this.peek() === '?') this.pos++; // lazy: same language for test()
    return { kind: 'repeat', item: atom, min: q[0], max: q[1] };
  }

  private quantifier(): [number, number] | null {
    const c = this.peek();
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      return c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
    }
    if (c !== '{') return null;
    const m = QUANTIFIER.exec(this.src.slice(this.pos));
    if (!m) return null;
    this.pos += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) throw new Unsupported();
    return [min, max];
  }

  private atom(): RegexNode {
    const c = this.src[this.pos++]!;
    switch (c) {
      case '^':
        return { kind: 'start' };
      case '$':
        return { kind: 'end' };
      case '.':
        return { kind: 'chars', set: setOf((s) => !LINE_TERMINATOR_SYMBOLS.includes(s)) };
      case '(':
        return this.group();
      case '[':
        return { kind: 'chars', set: this.charClass() };
      case '\\':
        return this.escape();
      case '*':
      case '+':
      case '?':
        throw new Unsupported();
      case '{':
        if (QUANTIFIER.test(this.src.slice(this.pos - 1))) throw new Unsupported();
        return this.literal(c);
      default:
        return this.literal(c);
    }
  }

  private literal(c: string): RegexNode {
    const unit = c.charCodeAt(0);
    if (unit >= 128) throw new Unsupported();
    return { kind: 'chars', set: setOf((s) => s === unit) };
  }

  private group(): RegexNode {
    if (this.peek() === '?') {
      const next = this.src[this.pos + 1];
      if (next === ':') this.pos += 2;
      else if (next === '<' && this.src[this.pos + 2] !== '=' && this.src[this.pos + 2] !== '!') {
        const close = this.src.indexOf('>', this.pos);
        if (close < 0) throw new Unsupported();
        this.pos = close + 1;
      } else throw new Unsupported(); // lookaround, modifiers
    }
    const inner = this.alternation();
    if (this.src[this.pos++] !== ')') throw new Unsupported();
    return inner;
  }

  private escape(): RegexNode {
    const unit = this.escapedUnit();
    if (typeof unit !== 'number') return { kind: 'chars', set: setOf(unit) };
    return { kind: 'chars', set: setOf((s) => s === unit) };
  }

  /** An escape: an ASCII code unit, or a class predicate for \d \w \D \W. */
  private escapedUnit(): number | ((s: number) => boolean) {
    const c = this.src[this.pos++];
    if (c === undefined) throw new Unsupported();
    const cls = CLASS_ESCAPES[c];
    if (cls) return cls;
    const ctl = CONTROL_ESCAPES[c];
    if (ctl !== undefined) return ctl;
    if (c === 'x' || c === 'u') {
      const len = c === 'x' ? 2 : 4;
      const hex = this.src.slice(this.pos, this.pos + len);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw new Unsupported();
      const unit = parseInt(hex, 16);
      if (unit >= 128) throw new Unsupported();
      this.pos += len;
      return unit;
    }
    // Letters and digits are special (\b \s \1 \k \p \c ...) or Annex B oddities: not supported.
    if (/[A-Za-z0-9]/.test(c) || c.charCodeAt(0) >= 128) throw new Unsupported();
    return c.charCodeAt(0); // identity escape of punctuation: \/ \. \- \$ ...
  }

  private charClass(): Uint8Array {
    const negate = this.peek() === '^';
    if (negate) this.pos++;
    const set = new Uint8Array(ALPHABET);
    while (this.peek() !== ']') {
      if (this.done()) throw new Unsupported();
      const lo = this.classAtom();
      if (this.peek() === '-' && this.src[this.pos + 1] !== ']' && this.src[this.pos + 1] !== undefined) {
        this.pos++;
        const hi = this.classAtom();
        if (typeof lo !== 'number' || typeof hi !== 'number' || lo > hi) throw new Unsupported();
        for (let s = lo; s <= hi; s++) set[s] = 1;
      } else if (typeof lo === 'number') set[lo] = 1;
      else for (let s = 0; s < ALPHABET; s++) if (lo(s)) set[s] = 1;
    }
    this.pos++;
    if (negate) for (let s = 0; s < ALPHABET; s++) set[s] = set[s] ? 0 : 1;
    return set;
  }

  private classAtom(): number | ((s: number) => boolean) {
    const c = this.src[this.pos++]!;
    if (c === '\\') {
      if (this.peek() === 'b' || this.peek() === '-') {
        const b = this.src[this.pos++];
        return b === 'b' ? 8 : 45;
      }
      return this.escapedUnit();
    }
    const unit = c.charCodeAt(0);
    if (unit >= 128) throw new Unsupported();
    return unit;
  }
}
