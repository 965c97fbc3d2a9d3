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
 */
import { ClosureWalker, Nfa, type Closure } from './dfa-nfa.ts';
import { ALPHABET, type RegexNode } from './dfa-regex.ts';

interface StateData {
  readonly consuming: readonly number[];
  readonly eolWaiting: readonly number[];
  /** Regexes that have matched on the way here, ascending. */
  readonly accepted: readonly number[];
  /** The state for position 0 (where `^` holds). */
  readonly initial: boolean;
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
  private readonly terminal: Uint8Array;
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
    this.unitClass = new Uint8Array(0x10000).fill(this.classOf[129]!);
    this.unitClass.set(this.classOf.subarray(0, 128));
    this.unitClass[0x2028] = this.unitClass[0x2029] = this.classOf[128]!;
    this.results = new Array<T | undefined>(this.maxStates).fill(undefined);
    this.trans = new Int32Array(this.maxStates * this.width).fill(-1);
    this.terminal = new Uint8Array(this.maxStates);
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

  /** The answer for `input`: `result` of the ids of every regex whose `test(input)` is true. */
  run(input: string): T {
    // `trans` holds state offsets (id × width): -1 = not built yet, <= -2 = a terminal state
    // at offset -t - 2 (its answer can no longer change: stop reading).
    const trans = this.trans;
    const unitClass = this.unitClass;
    let o = 0;
    for (let i = 0, n = input.length; i < n; i++) {
      const k = unitClass[input.charCodeAt(i)]!;
      const t = trans[o + k]!;
      if (t >= 0) o = t;
      else if (t === -1) {
        const id = this.step(o / this.width, k);
        o = id * this.width;
        if (this.terminal[id] === 1) break;
      } else {
        o = -t - 2;
        break;
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
      if (this.terminal[s] === 1 || !this.firstAlive(d)) continue;
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
    const sym = this.rep[k]!;
    const d = this.states[s]!;
    const c = this.walker.begin();
    for (const q of d.consuming) {
      if (this.nfa.sets[q]![sym] === 1) this.walker.add(c, this.nfa.outs[q]![0]!, false, false);
    }
    const done = new Set(d.accepted);
    for (const r of this.injectable) if (!done.has(r)) this.walker.add(c, this.nfa.starts[r]!, false, false);
    const next = this.makeState(c, d.accepted, false);
    const before = this.flushes;
    const id = this.intern(next);
    if (this.flushes === before) this.trans[s * this.width + k] = this.terminal[id] === 1 ? -(id * this.width) - 2 : id * this.width;
    return id;
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
    const key = `${d.initial ? 'I' : ''}${d.consuming.join(',')}|${d.eolWaiting.join(',')}|${d.accepted.join(',')}`;
    const known = this.index.get(key);
    if (known !== undefined) return known;
    if (this.states.length >= this.maxStates) this.flush();
    const id = this.states.length;
    this.states.push(d);
    this.index.set(key, id);
    const done = new Set(d.accepted);
    const pending = this.injectable.some((r) => !done.has(r));
    this.terminal[id] = d.consuming.length === 0 && d.eolWaiting.length === 0 && !pending ? 1 : 0;
    return id;
  }

  private flush(): void {
    this.flushes++;
    this.trans.fill(-1);
    this.terminal.fill(0);
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
