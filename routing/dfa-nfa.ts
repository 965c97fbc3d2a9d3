/**
 * Thompson construction of one NFA for many regexes (RE2-style; see Russ Cox, "Regular
 * Expression Matching Can Be Simple And Fast"). Each regex gets its own MATCH state; the lazy
 * DFA in ./dfa.ts simulates all of them at once over a path's code units.
 */
import type { RegexNode } from './dfa-regex.ts';

/** NFA state kinds. CHAR consumes one symbol; the others are epsilon moves or assertions. */
export const CHAR = 0;
export const EPS = 1;
export const BOL = 2;
export const EOL = 3;
export const MATCH = 4;

const MAX_STATES_PER_REGEX = 20_000;

/** The combined NFA. Parallel arrays indexed by state id. */
export class Nfa {
  readonly kind: number[] = [];
  /** Successors: one for CHAR/BOL/EOL, any number for EPS, none for MATCH. */
  readonly outs: number[][] = [];
  /** For CHAR states: the symbols it consumes (one byte per symbol). */
  readonly sets: (Uint8Array | null)[] = [];
  /** The regex each state belongs to. */
  readonly owner: number[] = [];
  /** Start state of each regex. */
  readonly starts: number[] = [];

  /** Adds a regex; returns false (and adds nothing usable) when it would be too large. */
  add(node: RegexNode): boolean {
    const id = this.starts.length;
    const before = this.kind.length;
    const match = this.state(MATCH, [], null, id);
    try {
      this.starts.push(this.build(node, match, id, before));
      return true;
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      this.starts.push(match); // placeholder; the caller must not use this regex
      return false;
    }
  }

  private state(kind: number, outs: number[], set: Uint8Array | null, owner: number): number {
    this.kind.push(kind);
    this.outs.push(outs);
    this.sets.push(set);
    this.owner.push(owner);
    return this.kind.length - 1;
  }

  /** Builds `node` so that it continues at `next`; returns its entry state. */
  private build(node: RegexNode, next: number, owner: number, base: number): number {
    if (this.kind.length - base > MAX_STATES_PER_REGEX) throw new RangeError('regex too large');
    switch (node.kind) {
      case 'chars':
        return this.state(CHAR, [next], node.set, owner);
      case 'start':
        return this.state(BOL, [next], null, owner);
      case 'end':
        return this.state(EOL, [next], null, owner);
      case 'seq': {
        let cur = next;
        for (let i = node.items.length - 1; i >= 0; i--) cur = this.build(node.items[i]!, cur, owner, base);
        return cur;
      }
      case 'alt':
        return this.state(EPS, node.items.map((item) => this.build(item, next, owner, base)), null, owner);
      case 'repeat':
        return this.repeat(node.item, node.min, node.max, next, owner, base);
    }
  }

  private repeat(item: RegexNode, min: number, max: number, next: number, owner: number, base: number): number {
    let cur: number;
    if (max === Infinity) {
      cur = this.state(EPS, [], null, owner);
      const body = this.build(item, cur, owner, base);
      this.outs[cur] = [body, next];
    } else {
      cur = next;
      for (let i = min; i < max; i++) cur = this.state(EPS, [this.build(item, cur, owner, base), next], null, owner);
    }
    for (let i = 0; i < min; i++) cur = this.build(item, cur, owner, base);
    return cur;
  }
}

/** The result of an epsilon closure: CHAR states, EOL states waiting for the end, matched regexes. */
export interface Closure {
  consuming: number[];
  eolWaiting: number[];
  matched: number[];
}

/**
 * Follows epsilon moves from `from`. BOL passes only when `atStart`, EOL only when `atEnd`
 * (otherwise the EOL state is reported as waiting). `mark`/`gen` avoid re-visiting states.
 */
export class ClosureWalker {
  private readonly nfa: Nfa;
  private mark: Uint32Array;
  private gen = 0;
  constructor(nfa: Nfa) {
    this.nfa = nfa;
    this.mark = new Uint32Array(nfa.kind.length);
  }

  /** Starts a new closure (states visited in earlier closures may be visited again). */
  begin(): Closure {
    this.gen++;
    if (this.mark.length < this.nfa.kind.length) this.mark = new Uint32Array(this.nfa.kind.length);
    return { consuming: [], eolWaiting: [], matched: [] };
  }

  /** Adds the closure of `from` to `out`. */
  add(out: Closure, from: number, atStart: boolean, atEnd: boolean): void {
    const { kind, outs, owner } = this.nfa;
    const stack = [from];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (this.mark[s] === this.gen) continue;
      this.mark[s] = this.gen;
      const k = kind[s]!;
      if (k === CHAR) out.consuming.push(s);
      else if (k === MATCH) out.matched.push(owner[s]!);
      else if (k === BOL && !atStart) continue;
      else if (k === EOL && !atEnd) out.eolWaiting.push(s);
      else {
        const o = outs[s]!;
        for (let i = o.length - 1; i >= 0; i--) stack.push(o[i]!);
      }
    }
  }
}
