/**
 * The lazy multi-regex DFA (routing/dfa.ts) against RegExp.prototype.test on tricky regexes:
 * every string up to length 5 over a small alphabet, plus hand-picked inputs; and the parser's
 * refusal of everything outside its subset (those regexes fall back to RegExp).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LazyDfa } from '../../routing/dfa.ts';
import { parseRegex } from '../../routing/dfa-regex.ts';

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

test('regexes outside the subset are refused (they fall back to RegExp)', () => {
  for (const src of ['(?=a)', '(?!a)', '(?<=a)b', '(?<!a)b', '(a)\\1', '\\k<x>(?<x>a)', '\\bword', '\\B', '\\s', '\\S', 'é', '[é]', '\\u00e9',
    '\\cA', '\\0', '\\p{L}', '(?i:a)', '\\q', 'a{101}']) {
    assert.equal(parseRegex(src), null, src);
  }
  for (const src of ['^/a', '(?<n>x)', 'a{100}', '[\\b]', '\\-']) assert.notEqual(parseRegex(src), null, src);
});
