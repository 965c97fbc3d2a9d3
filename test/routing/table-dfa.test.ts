/**
 * The lazy multi-regex DFA (routing/dfa.ts) against RegExp.prototype.test on tricky regexes:
 * every string up to length 5 over a small alphabet, plus hand-picked inputs; and the parser's
 * refusal of everything outside its subset (those regexes fall back to RegExp).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LazyDfa, LINE_TERMINATOR } from '../../routing/dfa.ts';
import { parseRegex } from '../../routing/dfa-regex.ts';
import { Prng } from './property-gen.ts';

const TRICKY = [
  '^/a$', 'a', '^$', '$', '^', '$^', 'a$|^b', '^(a|ab)(c|bcd)$', '(a*)*b', '^a{2,3}$', 'a{0}b', 'b{2,}$', 'x?y??z*?',
  '^[^/]+$', '^/[^/]*/.$', '.', '^.$', '[a-c]+/', '[^a-c]', '\\d\\w\\D\\W', '[\\d/]+$', '[-a]', '[a-]', '[]a', '[^]', 'a{', 'a{1', 'a{,2}', '}', ']',
  '^/(?<name>a|b)/(?:c|/)+', '\\/\\.\\$', '\\x61\\u0062', '(^a|b$)', '(?:)', '^/_matrix/client/(r0|v3|unstable)/user/.*/filter(/|$)',
  '^/_matrix/client/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases', '\\n|\\t',
];
const ALPHABET = ['a', 'b', 'c', 'd', '/', '.', '1', '\n', '\u2028', 'é', '$', '{', '}', ']', '-', 'x', 'y', 'z', '_'];

function* strings(maxLen: number, alphabet: readonly string[]): Generator<string> {
  yield '';
  let layer = [''];
  for (let n = 1; n <= maxLen; n++) {
    const next: string[] = [];
    for (const s of layer) for (const c of alphabet) next.push(s + c);
    yield* next;
    layer = next;
  }
}

function dfaFor(srcs: readonly string[], maxStates?: number): LazyDfa<string> {
  const nodes = srcs.map((s) => {
    const n = parseRegex(s);
    assert.ok(n, `${s} should be supported`);
    return n;
  });
  return new LazyDfa(nodes, (ids) => ids.join(','), { maxStates });
}

function expected(res: readonly RegExp[], s: string): string {
  return res.flatMap((r, i) => (r.test(s) ? [i] : [])).join(',');
}

test('the DFA answers RegExp.test for every string up to length 4 over a small alphabet', () => {
  const dfa = dfaFor(TRICKY);
  const res = TRICKY.map((s) => new RegExp(s));
  const small = ['a', 'b', 'c', 'd', '/', '.', '1', '\n', '\u2028', 'é', '$', '{', 'x', 'y', 'z', '-'];
  let n = 0;
  for (const s of strings(4, small)) {
    assert.equal(dfa.run(s), expected(res, s), JSON.stringify(s));
    n++;
  }
  assert.ok(n > 60_000);
});

test('each regex alone matches as RegExp does (separate NFAs give no cross-talk)', () => {
  for (const src of TRICKY) {
    const dfa = dfaFor([src]);
    const re = new RegExp(src);
    for (const s of strings(3, ALPHABET)) assert.equal(dfa.run(s), re.test(s) ? '0' : '', `${src} on ${JSON.stringify(s)}`);
  }
});

test('a DFA cache of 2 states flushes constantly and still answers correctly', () => {
  const dfa = dfaFor(TRICKY, 2);
  const res = TRICKY.map((s) => new RegExp(s));
  for (const s of strings(3, ALPHABET)) assert.equal(dfa.run(s), expected(res, s));
  assert.ok(dfa.flushes > 100);
  assert.ok(dfa.stateCount <= 2);
});

test('catalogue-shaped paths', () => {
  const srcs = ['^/_matrix/client/(r0|v3)/sync$', '^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/send', '^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$'];
  const dfa = dfaFor(srcs);
  assert.equal(dfa.run('/_matrix/client/v3/sync'), '0');
  assert.equal(dfa.run('/_matrix/client/v3/sync/'), '');
  assert.equal(dfa.run('/_matrix/client/v3/rooms/%21a%3Ab/send/m.room.message/1'), '1');
  assert.equal(dfa.run('/_matrix/client/v3/rooms/!a:b/x/send'), '1');
  assert.equal(dfa.run('/_matrix/client/r0/rooms/!a:b/initialSync'), '2');
  assert.equal(dfa.run('/_matrix/client/r0/rooms/!a/b/initialSync'), '');
  assert.equal(dfa.run('/_matrix/client/r0/rooms/\u2028/initialSync'), '2');
});

test('segments the walk skips: a line terminator inside one still ends `.*` (as RegExp has it)', () => {
  const srcs = ['^/_matrix/client/(r0|v3)/rooms/.*/send', '^/_matrix/client/(r0|v3)/rooms/[^/]+/messages$', '^/r/.*$', '^/r/[^/]*/x'];
  const dfa = dfaFor(srcs);
  const res = srcs.map((s) => new RegExp(s));
  for (const s of ['/_matrix/client/v3/rooms/!abcdefgh:example.org/send/m.room.message/txn1', '/_matrix/client/v3/rooms/!abcd\nefgh:example.org/send/m',
    '/_matrix/client/v3/rooms/!abcdefgh:exa\rmple.org/send', '/_matrix/client/v3/rooms/!abcd\u2028efgh/send', '/_matrix/client/v3/rooms/!abcd\u2029/send',
    '/_matrix/client/v3/rooms/!abc\n/messages', '/_matrix/client/v3/rooms/!abcdefgh:example.org/messages', '/r/abcdefgh', '/r/abcd\nefgh',
    '/r/abcdefgh/x', '/r/abcd\nefgh/x', '/r/abcdefgh\u2028']) {
    assert.equal(dfa.run(s), expected(res, s), JSON.stringify(s));
  }
});

test('long catalogue-shaped paths with random segments agree with RegExp (seeded)', () => {
  const srcs = ['^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/(send|state|redact)', '^/_matrix/client/(r0|v3|unstable)/rooms/[^/]+/messages$',
    '^/_matrix/client/(r0|v3)/rooms/[^/]+/initialSync$', '^/_matrix/client/(r0|v3|unstable)/user/.*/filter(/|$)', '^/_matrix/federation/v1/send/', '^/_matrix/client/v3/sync$'];
  const dfa = dfaFor(srcs);
  const res = srcs.map((s) => new RegExp(s));
  const rng = new Prng(7);
  const units = ['a', 'Z', '9', '!', ':', '%', '.', '$', '/', '\n', '\r', '\u2028', '\u2029', 'é', '_', '-'];
  const heads = ['/_matrix/client/v3/rooms/', '/_matrix/client/r0/rooms/', '/_matrix/client/v3/user/', '/_matrix/federation/v1/send/', '/_matrix/client/v3/sync'];
  const tails = ['/send/m.room.message/', '/messages', '/initialSync', '/filter', '/filter/1', '/state/x/', '', '/'];
  const segment = (): string => {
    let s = '';
    for (let i = rng.below(40); i > 0; i--) s += rng.chance(0.9) ? units[rng.below(3)] : rng.pick(units);
    return s;
  };
  let plain = 0;
  for (let n = 0; n < 20_000; n++) {
    const s = rng.pick(heads) + segment() + rng.pick(tails) + segment();
    assert.equal(dfa.run(s), expected(res, s), JSON.stringify(s));
    // A caller that vouches for a path without line terminators (RouteRequest.plainPath) gets the same answer.
    if (!LINE_TERMINATOR.test(s)) {
      plain++;
      assert.equal(dfa.run(s, true), expected(res, s), JSON.stringify(s));
    }
  }
  assert.ok(plain > 5_000, `only ${plain} paths without line terminators`);
});

test('regexes outside the subset are refused (they fall back to RegExp)', () => {
  for (const src of ['(?=a)', '(?!a)', '(?<=a)b', '(?<!a)b', '(a)\\1', '\\k<x>(?<x>a)', '\\bword', '\\B', '\\s', '\\S', 'é', '[é]', '\\u00e9',
    '\\cA', '\\0', '\\p{L}', '(?i:a)', '\\q', 'a{101}']) {
    assert.equal(parseRegex(src), null, src);
  }
  for (const src of ['^/a', '(?<n>x)', 'a{100}', '[\\b]', '\\-']) assert.notEqual(parseRegex(src), null, src);
});
