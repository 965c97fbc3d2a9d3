/**
 * Key extractors (issue 2 point 7): every rule of DESIGN.md "Key extractors", plus the
 * nginx-exact variant of token_user that mirrors the workers.md `map` blocks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessToken, clientIp, cookieValue, createKeyExtractor, federationOrigin, nginxTokenUser, percentDecode,
  queryParam, roomId, tokenUser, xMatrixOrigin, CidrSet,
} from '../../routing/keys.ts';
import type { RouteRequest } from '../../routing/types.ts';

function req(path: string, headers: Record<string, string> = {}, sourceIp = '203.0.113.9'): RouteRequest {
  const q = path.indexOf('?');
  return {
    method: 'GET',
    path: q < 0 ? path : path.slice(0, q),
    query: q < 0 ? '' : path.slice(q + 1),
    headers,
    sourceIp,
  };
}

// "alice" and "bob" in unpadded standard base64, as Synapse's generate_access_token writes them.
const ALICE = 'syt_YWxpY2U_AbCdEfGhIjKlMnOpQrSt_1x2Y3z';
const PLUS = 'syt_Pz8-Pw_AbCdEfGhIjKlMnOpQrSt_0a1b2c'; // not std base64 on purpose: '-' must pass through
const SLASHY = 'syt_ab+c/d_AbCdEfGhIjKlMnOpQrSt_0a1b2c';

test('token_user: syt_ header gives the base64 localpart field, not its decoding', () => {
  assert.equal(tokenUser(req('/sync', { authorization: `Bearer ${ALICE}` })), 'YWxpY2U');
  assert.equal(tokenUser(req('/sync', { authorization: `Bearer ${PLUS}` })), 'Pz8-Pw');
  assert.equal(tokenUser(req('/sync', { authorization: `bearer ${SLASHY}` })), 'ab+c/d');
});

test('token_user: query token is percent-decoded and keys like the header form', () => {
  const enc = encodeURIComponent(SLASHY);
  assert.notEqual(enc, SLASHY);
  assert.equal(tokenUser(req(`/sync?since=s1&access_token=${enc}`)), 'ab+c/d');
  assert.equal(tokenUser(req(`/sync?access_token=${ALICE}&since=x`)), 'YWxpY2U');
  assert.equal(accessToken(req(`/sync?access_token=${enc}`)), SLASHY);
  // A parameter that merely ends in access_token is another parameter.
  assert.equal(tokenUser(req('/sync?my_access_token=syt_x_y_z')), null);
});

test('token_user: other tokens are keyed whole; no token is null', () => {
  assert.equal(tokenUser(req('/sync', { authorization: 'Bearer mat_0123456789abcdef' })), 'mat_0123456789abcdef');
  assert.equal(tokenUser(req('/sync', { authorization: 'Bearer MDAxOGxvY2F0aW9uIGV4YW1wbGUub3JnCjAwMTNpZGVudGlmaWVyIGtleQo' })),
    'MDAxOGxvY2F0aW9uIGV4YW1wbGUub3JnCjAwMTNpZGVudGlmaWVyIGtleQo');
  assert.equal(tokenUser(req('/sync?access_token=as_token_for_bridge')), 'as_token_for_bridge');
  assert.equal(tokenUser(req('/sync', { authorization: 'Bearer syt_' })), 'syt_'); // no localpart field
  assert.equal(tokenUser(req('/sync', { authorization: 'Bearer syt__x_y' })), 'syt__x_y');
  assert.equal(tokenUser(req('/sync')), null);
  assert.equal(tokenUser(req('/sync?access_token=')), null);
  assert.equal(tokenUser(req('/sync', { authorization: 'Basic dXNlcjpwYXNz' })), null);
  // The header wins over the query, as Synapse reads it.
  assert.equal(tokenUser(req(`/sync?access_token=${ALICE}`, { authorization: 'Bearer mat_1' })), 'mat_1');
});

test('token_user (nginx maps): header value kept whole unless it matches Bearer syt_…_', () => {
  const nginx = createKeyExtractor('token_user', { trustedProxies: [], nginxCompat: true });
  assert.equal(nginx, nginxTokenUser);
  assert.equal(nginx(req('/sync', { authorization: `Bearer ${ALICE}` })), 'YWxpY2U');
  assert.equal(nginx(req('/sync', { authorization: 'Bearer mat_abc' })), 'Bearer mat_abc');
  assert.equal(nginx(req('/sync', { authorization: 'bearer syt_YWxpY2U_x_y' })), 'bearer syt_YWxpY2U_x_y'); // `~` is case-sensitive
  assert.equal(nginx(req('/sync', { authorization: 'Bearer syt_nounderscore' })), 'Bearer syt_nounderscore');
  assert.equal(nginx(req('/sync', { authorization: 'X Bearer syt_QGI_z' })), 'QGI'); // the regex is unanchored
  assert.equal(nginx(req('/sync', { authorization: 'Bearer syt__x' })), null); // empty $username: nginx round-robins
});

test('token_user (nginx maps): $arg_access_token is raw and its name case-insensitive', () => {
  const nginx = createKeyExtractor('token_user', { trustedProxies: [], nginxCompat: true });
  assert.equal(nginx(req(`/sync?access_token=${ALICE}`)), 'YWxpY2U');
  assert.equal(nginx(req('/sync?ACCESS_TOKEN=syt_ab%2Bc_x_y')), 'ab%2Bc');
  assert.equal(nginx(req('/sync?access_token=mat_%41bc')), 'mat_%41bc');
  assert.equal(nginx(req('/sync?access_token=xsyt_QGI_z')), 'QGI');
  assert.equal(nginx(req('/sync?since=1')), null);
  assert.equal(nginx(req('/sync?access_token=')), null);
});

test('room_id: percent-decoded segment after /rooms/, both spellings alike, domainless too', () => {
  const a = roomId(req('/_matrix/client/v3/rooms/!abc:example.org/send/m.room.message/t1'));
  const b = roomId(req('/_matrix/client/v3/rooms/%21abc%3Aexample.org/send/m.room.message/t1'));
  const c = roomId(req('/_matrix/client/v3/rooms/%21abc%3aexample.org/messages'));
  assert.equal(a, '!abc:example.org');
  assert.equal(b, a);
  assert.equal(c, a);
  const domainless = '!' + 'A1b2-C3d4_E5f6G7h8I9j0KlMnOpQrStUvWxYz01234'.slice(0, 43);
  assert.equal(domainless.length, 44);
  assert.equal(roomId(req(`/_matrix/client/v3/rooms/${domainless}/messages`)), domainless);
  assert.equal(roomId(req(`/_matrix/client/v3/rooms/${encodeURIComponent(domainless)}`)), domainless);
  assert.equal(roomId(req('/_matrix/client/v3/user/@u:x/rooms/!r:x/tags')), '!r:x');
  assert.equal(roomId(req('/_matrix/client/v3/sync')), null);
  assert.equal(roomId(req('/_matrix/client/v3/rooms/')), null);
  assert.equal(roomId(req('/_matrix/client/v3/rooms//messages')), null);
  assert.equal(roomId(req('/_matrix/client/v3/rooms/%E0%A4%A/x')), '%E0%A4%A'); // malformed escape: kept as is
});

test('source_ip: socket address unless the peer is a trusted proxy', () => {
  const trusted = new CidrSet(['10.0.0.0/8', 'fd00::/8']);
  assert.equal(clientIp(req('/', { 'x-forwarded-for': '198.51.100.7' }, '203.0.113.9'), trusted), '203.0.113.9');
  assert.equal(clientIp(req('/', {}, '::ffff:203.0.113.9'), trusted), '203.0.113.9');
  assert.equal(clientIp(req('/', { 'x-forwarded-for': '198.51.100.7' }, '10.1.1.1'), trusted), '198.51.100.7');
  assert.equal(clientIp(req('/', { 'x-forwarded-for': '198.51.100.7' }, '::ffff:10.1.1.1'), trusted), '198.51.100.7');
  assert.equal(clientIp(req('/', {}, '10.1.1.1'), trusted), '10.1.1.1');
  assert.equal(clientIp(req('/', { 'x-forwarded-for': '' }, '10.1.1.1'), trusted), '10.1.1.1');
});

test('source_ip: rightmost untrusted X-Forwarded-For hop; spoofed left entries are ignored', () => {
  const trusted = new CidrSet(['10.0.0.0/8', 'fd00::/8']);
  const chain = (xff: string, peer = '10.0.0.2') => clientIp(req('/', { 'x-forwarded-for': xff }, peer), trusted);
  assert.equal(chain('1.1.1.1, 198.51.100.7, 10.0.0.5'), '198.51.100.7');
  assert.equal(chain('1.1.1.1,198.51.100.7,10.0.0.5,10.9.9.9'), '198.51.100.7');
  assert.equal(chain('10.3.3.3, 10.0.0.5'), '10.3.3.3'); // every hop trusted: the leftmost
  assert.equal(chain('2001:db8::1, fd00::5', 'fd00::1'), '2001:db8::1');
  assert.equal(chain('[2001:db8::2]:4711, 10.0.0.5'), '2001:db8::2');
  assert.equal(chain('198.51.100.8:5555'), '198.51.100.8');
  assert.equal(chain('::ffff:198.51.100.9'), '198.51.100.9');
  assert.equal(chain('garbage, 10.0.0.5'), 'garbage'); // never trusted, so never an admin address
  const ext = createKeyExtractor('source_ip', { trustedProxies: ['10.0.0.0/8'] });
  assert.equal(ext(req('/', { 'x-forwarded-for': '1.2.3.4, 5.6.7.8' }, '10.0.0.1')), '5.6.7.8');
  assert.equal(ext(req('/', { 'x-forwarded-for': '1.2.3.4' }, '192.0.2.1')), '192.0.2.1');
});

test('federation_origin: X-Matrix origin, quoted or bare, any order, any case, else client IP', () => {
  const sig = 'sig="ABCDEF\\"Gh"';
  assert.equal(xMatrixOrigin('X-Matrix origin="remote.example",destination="us.example",key="ed25519:a1",' + sig), 'remote.example');
  assert.equal(xMatrixOrigin('X-Matrix origin=remote.example:8448,key="ed25519:a1",sig="x"'), 'remote.example:8448');
  assert.equal(xMatrixOrigin('X-Matrix key="ed25519:a1", sig="x" ,\tOrigin = "r.example"'), 'r.example');
  assert.equal(xMatrixOrigin('x-matrix   ORIGIN="q\\.example",key="k"'), 'q.example');
  assert.equal(xMatrixOrigin('X-Matrix key="a,origin=fake",origin=real.example'), 'real.example');
  assert.equal(xMatrixOrigin('X-Matrix key="k",sig="s"'), null);
  assert.equal(xMatrixOrigin('Bearer syt_a_b_c'), null);
  assert.equal(xMatrixOrigin('X-Matrixorigin=a'), null);
  const trusted = new CidrSet([]);
  const fed = (auth?: string) => federationOrigin(req('/_matrix/federation/v1/send/1', auth ? { authorization: auth } : {}, '192.0.2.44'), trusted);
  assert.equal(fed('X-Matrix origin="remote.example",key="k",sig="s"'), 'remote.example');
  assert.equal(fed(), '192.0.2.44');
  assert.equal(fed('X-Matrix key="k",sig="s"'), '192.0.2.44');
});

test('path, header, query and cookie keys; missing is null', () => {
  const opts = { trustedProxies: [] };
  const path = createKeyExtractor('path', opts);
  assert.equal(path(req('/_matrix/media/v3/download/a/b?x=1')), '/_matrix/media/v3/download/a/b');
  const header = createKeyExtractor({ header: 'X-Tenant' }, opts);
  assert.equal(header(req('/', { 'x-tenant': 'blue' })), 'blue');
  assert.equal(header(req('/', {})), null);
  const query = createKeyExtractor({ query: 'k' }, opts);
  assert.equal(query(req('/?a=1&k=hello%20world&k=second')), 'hello world');
  assert.equal(query(req('/?K=upper')), null);
  assert.equal(query(req('/?kk=1&k')), null);
  const nginxQuery = createKeyExtractor({ query: 'k' }, { ...opts, nginxCompat: true });
  assert.equal(nginxQuery(req('/?K=hello%20world')), 'hello%20world');
  const cookie = createKeyExtractor({ cookie: 'sid' }, opts);
  assert.equal(cookie(req('/', { cookie: 'a=1; sid=xyz; b=2' })), 'xyz');
  assert.equal(cookie(req('/', { cookie: 'xsid=1; sid2=3' })), null);
  assert.equal(cookie(req('/')), null);
  assert.equal(cookieValue(req('/', { cookie: 'SID=up' }), 'sid', true), 'up');
  assert.equal(queryParam('a=1&b=2', 'b'), '2');
});

test('queryParam: first item so named, only at an item start and before =, names taken literally', () => {
  assert.equal(queryParam('ACCESS_TOKEN=y&access_token=x', 'access_token'), 'x');
  assert.equal(queryParam('ACCESS_TOKEN=y&access_token=x', 'access_token', true), 'y');
  assert.equal(queryParam('xaccess_token=1&access_tokenx=2', 'access_token', true), null);
  assert.equal(queryParam('access_token', 'access_token'), null);
  assert.equal(queryParam('a=1&access_token=', 'access_token'), '');
  assert.equal(queryParam('a.b=1&axb=2', 'axb'), '2');
  assert.equal(queryParam('axb=1&a.b=2', 'a.b'), '2');
  assert.equal(queryParam('a+b=1', 'a+b'), '1');
  assert.equal(queryParam('\u00c9=1&\u00e9=2', '\u00e9', true), '2');
});

test('a bad trusted proxy CIDR fails when the extractor is built, naming it', () => {
  assert.throws(() => createKeyExtractor('source_ip', { trustedProxies: ['10.0.0.0/33'] }), /10\.0\.0\.0\/33/);
});

test('percentDecode equals decodeURIComponent (raw text when malformed) on 20,000 seeded strings', () => {
  let seed = 5;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
  const parts = ['!', ':', 'a', 'Z', '+', '%21', '%3A', '%3a', '%2F', '%25', '%', '%4', '%zz', '%C3%A9', '%E6%97%A5', '%F0%9F%98%80', '%C3', '%80', '%7E', '%7e', '%20'];
  for (let i = 0; i < 20_000; i++) {
    let s = '';
    for (let j = next() % 8; j >= 0; j--) s += parts[next() % parts.length];
    let expected: string;
    try { expected = decodeURIComponent(s); } catch { expected = s; }
    assert.equal(percentDecode(s), expected, s);
  }
});

/** Reference nginx token_user: the workers.md map regexes applied to whole strings (the pre-2026-11-28 implementation, by RegExp). */
function nginxReference(r: RouteRequest): string | null {
  const auth = typeof r.headers.authorization === 'string' && r.headers.authorization !== '' ? r.headers.authorization : null;
  if (auth !== null) {
    const m = /Bearer syt_(.*?)_.*/.exec(auth);
    return m === null ? auth : m[1] || null;
  }
  const arg = /(?:^|&)access_token=([^&]*)/i.exec(r.query)?.[1];
  if (!arg) return null;
  const m = /syt_(.*?)_.*/.exec(arg);
  return m === null ? arg : m[1] || null;
}

test('token_user fast paths (fields read in place) agree with whole-token parsing on generated tokens', async () => {
  const { Prng } = await import('./property-gen.ts');
  const rng = new Prng(7);
  const parts = ['syt_', 'YWxp', 'Y2U', '_', '%5F', '%41', '&', 'x', 'Bearer ', 'mat_', '=', '%'];
  let compared = 0;
  for (let i = 0; i < 20_000; i++) {
    let token = rng.chance(0.7) ? 'syt_' : '';
    for (let n = rng.below(8); n > 0; n--) token += rng.pick(parts);
    const where = rng.below(3);
    const r = where === 0 ? req('/sync', { authorization: `Bearer ${token}` })
      : where === 1 ? req(`/sync?since=s1&access_token=${token}${rng.chance(0.5) ? '&x=1' : ''}`)
        : req(`/sync?${rng.chance(0.5) ? 'ACCESS_TOKEN' : 'access_token'}=${token}`);
    const whole = accessToken(r);
    const expected = whole === null ? null : (/^syt_([^_]+)_/.exec(whole)?.[1] ?? whole);
    assert.equal(tokenUser(r), expected, JSON.stringify(r));
    assert.equal(nginxTokenUser(r), nginxReference(r), JSON.stringify(r));
    compared++;
  }
  assert.equal(compared, 20_000);
});
