/**
 * A lazily built DFA over many regexes at once (issue 2, point 11). It answers, for an input
 * string, the set of regexes for which `RegExp.prototype.test(input)` is true — with one table
 * lookup per code unit instead of one backtracking run per regex.
 *
 * A DFA state is a set of NFA states plus the set of regexes that have already matched. Regexes
 * are unanchored unless they say `^` (an unanchored regex is re-entered at every position, which
 * is the implicit `.*?` prefix of a search). A regex has matched as soon as its MATCH state is
 * reached, because `test()` needs no particular match end; regexes with `$` reach it only at the
 * end of the input. States are built on demand and cached; when the cache is full it is flushed
 * and rebuilding starts from the current state (as RE2 does), so memory stays bounded.
 *
 * Reading a unit in JavaScript costs a few nanoseconds, so the walk avoids the units whose
 * reading cannot change its state: a state that every unit leads back to ends the walk (STOP),
 * and from a state that every unit but `/` leads back to (SKIP: inside a room ID, a transaction
 * ID, a `.*` or `[^/]+` segment) the walk jumps to the next `/` with a native search. The line
 * terminators also leave such states (`.` does not match them), so the jump is taken only for
 * inputs without any, which request paths are.
 */
import { ClosureWalker, Nfa, type Closure } from './dfa-nfa.ts';
import { ALPHABET, LINE_TERMINATOR_SYMBOLS, symbolOf, type RegexNode } from './dfa-regex.ts';

/** State kinds: walk on; stop (the answer is settled); skip to the next `/`. */
const NORMAL = 0;
const STOP = 1;
const SKIP = 2;
/** Symbols of `/` and the line terminators, which `.` does not match. */
const BREAK_SYMBOLS = [47, ...LINE_TERMINATOR_SYMBOLS];
/** The units of LINE_TERMINATOR_SYMBOLS, for one native test of a whole input (also what RouteRequest.plainPath promises is absent). */
export const LINE_TERMINATOR = /[\n\r\u2028\u2029]/;

interface StateData {
  readonly consuming: readonly number[];
  readonly eolWaiting: readonly number[];
  /** Regexes that have matched on the way here, ascending. */
  readonly accepted: readonly number[];
  /** The state for position 0 (where `^` holds). */
  readonly initial: boolean;
}

/** The identity of a state: equal keys, same state. */
function stateKey(d: StateData): string {
  return `${d.initial ? 'I' : ''}${d.consuming.join(',')}|${d.eolWaiting.join(',')}|${d.accepted.join(',')}`;
}

/** Options of a LazyDfa. */
export interface LazyDfaOptions {
  /** Cached DFA states before a flush (default 4096; each costs (symbol classes) × 4 bytes of table). */
  readonly maxStates?: number;
}

/**
 * Matches many regexes at once. `result` turns the ascending ids of the regexes that match an
 * input into the caller's answer; it is computed once per final DFA state and cached.
 */
export class LazyDfa<T> {
  private readonly nfa = new Nfa();
  private readonly walker: ClosureWalker;
  private readonly injectable: number[] = [];
  private readonly result: (ids: readonly number[]) => T;
  private readonly maxStates: number;
  private readonly trans: Int32Array;
  /** Input symbol → symbol class (symbols no regex tells apart share a class, so rows stay short). */
  private readonly classOf: Uint8Array;
  /** A representative input symbol of each class. */
  private readonly rep: number[] = [];
  /** Number of symbol classes: the row width of `trans`. */
  private readonly width: number;
  /** Every UTF-16 code unit → its symbol class, so the walk needs no branch per unit. */
  private readonly unitClass: Uint8Array;
  /** Per state id: NORMAL, STOP or SKIP (see those). */
  private readonly kind: Uint8Array;
  /**
   * Per symbol class: 1 when its every unit is `/` or a line terminator (`.` matches none of
   * those, so they are where states such as the one inside a `.*` or `[^/]+` segment change).
   */
  private readonly breaks: Uint8Array;
  private states: StateData[] = [];
  /** Answer per state id, dense (holes would make V8 keep it as a slow dictionary). */
  private readonly results: (T | undefined)[];
  private readonly index = new Map<string, number>();
  private readonly initialData: StateData;
  /** How often the state cache was flushed (for tests and the benchmark). */
  flushes = 0;

  /** `nodes[i]` is regex id i; a node too large for the NFA is reported through `rejected`. */
  constructor(nodes: readonly RegexNode[], result: (ids: readonly number[]) => T, opts: LazyDfaOptions = {}) {
    for (const node of nodes) if (!this.nfa.add(node)) throw new RangeError('regex too large for the DFA');
    this.walker = new ClosureWalker(this.nfa);
    this.result = result;
    this.maxStates = Math.max(2, opts.maxStates ?? 4096);
    this.classOf = this.symbolClasses();
    this.width = this.rep.length;
    this.unitClass = new Uint8Array(0x10000);
    for (let unit = 0; unit < 0x10000; unit++) this.unitClass[unit] = this.classOf[symbolOf(unit)]!;
    this.results = new Array<T | undefined>(this.maxStates).fill(undefined);
    this.trans = new Int32Array(this.maxStates * this.width).fill(-1);
    this.kind = new Uint8Array(this.maxStates);
    this.breaks = this.breakingClasses();
    for (let r = 0; r < nodes.length; r++) {
      const c = this.walker.begin();
      this.walker.add(c, this.nfa.starts[r]!, false, false);
      if (c.consuming.length + c.eolWaiting.length + c.matched.length > 0) this.injectable.push(r);
    }
    const c = this.walker.begin();
    for (const start of this.nfa.starts) this.walker.add(c, start, true, false);
    this.initialData = this.makeState(c, [], true);
    this.intern(this.initialData);
  }

  /** Number of DFA states currently cached. */
  get stateCount(): number {
    return this.states.length;
  }

  /**
   * The answer for `input`: `result` of the ids of every regex whose `test(input)` is true.
   * `plain`: the caller vouches that `input` has no line terminator (see RouteRequest.plainPath),
   * so skip states may jump without searching for one.
   */
  run(input: string, plain = false): T {
    // `trans` holds state offsets (id × width): -1 = not built yet, <= -2 = a state of a special
    // kind (see `kind`) at offset -t - 2, which the walk may stop at or skip ahead from.
    const trans = this.trans;
    const unitClass = this.unitClass;
    let o = 0;
    let noBreak = plain ? 1 : -1; // 1 when the input has no line terminator, 0 when it has, -1 not known yet
    for (let i = 0, n = input.length; i < n; i++) {
      const k = unitClass[input.charCodeAt(i)]!;
      const t = trans[o + k]!;
      if (t >= 0) {
        o = t;
        continue;
      }
      let id: number;
      if (t === -1) {
        id = this.step(o / this.width, k);
        o = id * this.width;
      } else {
        o = -t - 2;
        id = o / this.width;
      }
      const kind = this.kind[id];
      if (kind === STOP) break;
      if (kind === SKIP) {
        // Every unit but `/` and the line terminators leads back here: resume at the next `/`,
        // found natively, when the input has no line terminator (request paths have none).
        if (noBreak < 0) noBreak = LINE_TERMINATOR.test(input) ? 0 : 1;
        if (noBreak === 1) {
          const slash = input.indexOf('/', i + 1);
          if (slash < 0) break;
          i = slash - 1;
        }
      }
    }
    const s = o / this.width;
    const r = this.results[s];
    return r !== undefined ? r : this.finish(s);
  }

  /**
   * Language inclusion for the shadowing analysis: true when every input that regex 0 matches
   * is matched by at least one other regex, false when some input is matched by regex 0 alone,
   * null when more than `limit` states would have to be explored. Explores breadth first over
   * all symbols, but only states where regex 0 can still match and no other regex has yet (once
   * another regex has matched, every continuation is covered).
   */
  firstCovered(limit: number): boolean | null {
    const before = this.flushes;
    const seen = new Set<number>([0]);
    const queue = [0];
    while (queue.length > 0) {
      const s = queue.shift()!;
      const d = this.states[s]!;
      if (d.accepted.some((id) => id !== 0)) continue;
      const atEnd = this.endIds(s);
      if (atEnd.includes(0) && atEnd.length === 1) return false;
      if (this.kind[s] === STOP || !this.firstAlive(d)) continue;
      for (let k = 0; k < this.width; k++) {
        const t = this.trans[s * this.width + k]!;
        const next = t >= 0 ? t / this.width : t === -1 ? this.step(s, k) : (-t - 2) / this.width;
        if (this.flushes !== before || seen.size > limit) return null;
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    return true;
  }

  /** True when regex 0 has matched or may still match from state `d`. */
  private firstAlive(d: StateData): boolean {
    if (d.accepted.includes(0) || this.injectable.includes(0)) return true;
    const owner = this.nfa.owner;
    return d.consuming.some((q) => owner[q] === 0) || d.eolWaiting.some((q) => owner[q] === 0);
  }

  /** Partitions the input symbols into classes that every CHAR state treats alike. */
  private symbolClasses(): Uint8Array {
    const sets = [...new Map(this.nfa.sets.filter((x): x is Uint8Array => x !== null).map((x) => [x.join(''), x])).values()];
    const byKey = new Map<string, number>();
    const classOf = new Uint8Array(ALPHABET);
    for (let sym = 0; sym < ALPHABET; sym++) {
      const key = sets.map((x) => x[sym]).join('');
      let c = byKey.get(key);
      if (c === undefined) {
        c = this.rep.length;
        byKey.set(key, c);
        this.rep.push(sym);
      }
      classOf[sym] = c;
    }
    return classOf;
  }

  /** Builds (or finds) the successor of state `s` on symbol class `k`. */
  private step(s: number, k: number): number {
    const next = this.successor(this.states[s]!, k);
    const before = this.flushes;
    const id = this.intern(next);
    if (this.flushes === before) this.trans[s * this.width + k] = this.kind[id] !== NORMAL ? -(id * this.width) - 2 : id * this.width;
    return id;
  }

  /** The state after `d` reads a unit of symbol class `k` (not interned). */
  private successor(d: StateData, k: number): StateData {
    const sym = this.rep[k]!;
    const c = this.walker.begin();
    for (const q of d.consuming) {
      if (this.nfa.sets[q]![sym] === 1) this.walker.add(c, this.nfa.outs[q]![0]!, false, false);
    }
    const done = new Set(d.accepted);
    for (const r of this.injectable) if (!done.has(r)) this.walker.add(c, this.nfa.starts[r]!, false, false);
    return this.makeState(c, d.accepted, false);
  }

  /**
   * STOP when every unit leads from `d` back to `d` (its answer is settled: the walk stops),
   * SKIP when every unit but `/` and the line terminators does (the walk jumps to the next
   * `/`), else NORMAL. Worked out once per state, when it is built; it spares the walk the
   * segments no regex looks into (room IDs, transaction IDs) and the tails after a settled answer.
   */
  private kindOf(d: StateData, key: string): number {
    let loopsOnAll = true;
    for (let k = 0; k < this.width; k++) {
      if (stateKey(this.successor(d, k)) === key) continue;
      if (this.breaks[k] === 0) return NORMAL;
      loopsOnAll = false;
    }
    return loopsOnAll ? STOP : SKIP;
  }

  /** The classes whose every unit is `/` or a line terminator (see `breaks`). */
  private breakingClasses(): Uint8Array {
    const breaks = new Uint8Array(this.width).fill(1);
    for (let sym = 0; sym < ALPHABET; sym++) if (!BREAK_SYMBOLS.includes(sym)) breaks[this.classOf[sym]!] = 0;
    return breaks;
  }

  /** A state from a closure; NFA states of regexes that have already matched are dropped. */
  private makeState(c: Closure, accepted: readonly number[], initial: boolean): StateData {
    const acc = [...new Set([...accepted, ...c.matched])].sort((a, b) => a - b);
    const done = new Set(acc);
    const live = (q: number): boolean => !done.has(this.nfa.owner[q]!);
    return {
      consuming: [...new Set(c.consuming)].filter(live).sort((a, b) => a - b),
      eolWaiting: [...new Set(c.eolWaiting)].filter(live).sort((a, b) => a - b),
      accepted: acc,
      initial,
    };
  }

  private intern(d: StateData): number {
    const key = stateKey(d);
    const known = this.index.get(key);
    if (known !== undefined) return known;
    if (this.states.length >= this.maxStates) this.flush();
    const id = this.states.length;
    this.states.push(d);
    this.index.set(key, id);
    this.kind[id] = this.kindOf(d, key);
    return id;
  }

  private flush(): void {
    this.flushes++;
    this.trans.fill(-1);
    this.kind.fill(NORMAL);
    this.states = [];
    this.results.fill(undefined);
    this.index.clear();
    this.intern(this.initialData);
  }

  /** Ids of the regexes that match an input ending in state `s` (where `$` holds). */
  private endIds(s: number): number[] {
    const d = this.states[s]!;
    const c = this.walker.begin();
    for (const q of d.eolWaiting) this.walker.add(c, this.nfa.outs[q]![0]!, d.initial, true);
    return [...new Set([...d.accepted, ...c.matched])].sort((a, b) => a - b);
  }

  /** The answer at the end of the input in state `s`, cached. */
  private finish(s: number): T {
    const r = this.result(this.endIds(s));
    this.results[s] = r;
    return r;
  }
}
