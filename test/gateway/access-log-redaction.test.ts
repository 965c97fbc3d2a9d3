/**
 * Credentials never reach the access log nor the event log's drift and retry lines, whatever
 * the spelling of the query parameter's name: Synapse form-decodes names (`?access%5Ftoken=` is
 * an access token to it), so the gateway compares decoded names, case-insensitively, and also
 * redacts a value whose decoded text holds a secret parameter (a nested redirect URL). Driven
 * through the real gateway (a child process: the access log file and the event log on stderr).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactUrl } from '../../gateway/access-log.ts';
import { startUpstream, writeRoutes, routesDoc, spawnGateway, request, type Upstream, type ChildGateway } from './support.ts';

/** [path and query, the secret in it, readable parts that must stay in the logged path]. */
const CASES: [string, string, string[]][] = [
  ['/_matrix/client/v3/account/whoami?access_token=SECRETA1', 'SECRETA1', ['/_matrix/client/v3/account/whoami?access_token=<redacted>']],
  ['/_matrix/client/v3/account/whoami?Access_Token=SECRETA2', 'SECRETA2', ['Access_Token=<redacted>']],
  ['/_matrix/client/v3/account/whoami?access%5Ftoken=SECRETA3', 'SECRETA3', ['access%5Ftoken=<redacted>']],
  ['/_matrix/client/v3/account/whoami?access%5ftoken=SECRETA4', 'SECRETA4', ['access%5ftoken=<redacted>']],
  ['/_matrix/client/v3/account/whoami?%61ccess_token=SECRETA5', 'SECRETA5', ['%61ccess_token=<redacted>']],
  ['/_matrix/client/v3/account/whoami?x=1&access%5Ftoken=SECRETA6&y=2', 'SECRETA6', ['?x=1&access%5Ftoken=<redacted>&y=2']],
  ['/_matrix/client/v3/account/whoami?access_token%3DSECRETA7&z=3', 'SECRETA7', ['&z=3']],
  ['/_matrix/client/v3/account/whoami?x=1;access_token=SECRETA8&y=2', 'SECRETA8', ['?x=1;access_token=<redacted>&y=2']],
  ['/_matrix/client/v3/login/sso/redirect?redirectUrl=https%3A%2F%2Fapp.example%2F%3FloginToken%3DSECRETB1', 'SECRETB1', ['/_matrix/client/v3/login/sso/redirect?redirectUrl=<redacted>']],
  ['/_matrix/client/v3/login/sso/redirect?redirectUrl=https%253A%252F%252Fapp%252F%253Flogin%255Ftoken%253DSECRETB2', 'SECRETB2', ['redirectUrl=<redacted>']],
  ['/_matrix/client/v3/login/sso/redirect?loginToken=SECRETB3', 'SECRETB3', ['loginToken=<redacted>']],
  ['/_synapse/client/oidc/callback?code=SECRETC1&state=st4te', 'SECRETC1', ['/_synapse/client/oidc/callback?code=<redacted>&state=st4te']],
  ['/_synapse/client/oidc/callback?%63ode=SECRETC2&state=st4te', 'SECRETC2', ['%63ode=<redacted>&state=st4te']],
  ['/_matrix/client/v3/login/cas/ticket?redirectUrl=https%3A%2F%2Fapp%2F&ticket=SECRETC3', 'SECRETC3', ['redirectUrl=https%3A%2F%2Fapp%2F&ticket=<redacted>']],
  ['/_matrix/client/v3/registration/email/submit_token?sid=s1d&client_secret=SECRETD1&token=SECRETD2', 'SECRETD1', ['?sid=s1d&client_secret=<redacted>&token=<redacted>']],
  ['/_matrix/client/v3/registration/email/submit_token?sid=s1d&client%5Fsecret=SECRETD3', 'SECRETD3', ['client%5Fsecret=<redacted>']],
  ['/_matrix/client/v3/rooms/!r:x/messages?filter=%7B%22lazy_load_members%22%3Atrue%7D&dir=b&access+token=no&access%5FTOKEN=SECRETE1', 'SECRETE1', ['?filter=%7B%22lazy_load_members%22%3Atrue%7D&dir=b&']],
];

test('redactUrl: every spelling of a secret parameter is redacted; the path and other parameters stay as sent', () => {
  for (const [url, secret, kept] of CASES) {
    const out = redactUrl(url);
    assert.ok(!out.includes(secret), `${url} -> ${out}`);
    assert.ok(!out.includes('SECRET'), `${url} -> ${out}`);
    for (const k of kept) assert.ok(out.includes(k), `${url} -> ${out} keeps ${k}`);
  }
  for (const plain of ['/_matrix/client/v3/sync?since=s1_2&timeout=30000', '/_matrix/client/v3/rooms/!r:x/messages?from=t1&filter=%7B%22a%22%3A1%7D&dir=b',
    '/x?errcode=1&postcode=2', '/x', '/x?', '/x?&&;', '/x?a=%zz&b=%']) {
    assert.equal(redactUrl(plain), plain);
  }
  // A name that itself carries a secret (`%3D` in the name) is dropped with its value.
  assert.equal(redactUrl('/x?access_token%3DSECRET%26token=v&a=1'), '/x?<redacted>&a=1');
  // A secret's value runs to the next `&`: a parser splitting on `&` only reads `;` as part of it.
  assert.equal(redactUrl('/x?access_token=SEC;RET&a=1'), '/x?access_token=<redacted>&a=1');
});

test('redactUrl peels at most three encoding layers and redacts what still decodes after them (so it stays linear in the URL)', () => {
  const enc = (s: string, layers: number) => { for (let i = 0; i < layers; i++) s = encodeURIComponent(s); return s; };
  // Three layers are still read: a loginToken nested three deep is found, a plain value three deep kept.
  assert.equal(redactUrl(`/x?next=${enc('https://app/?loginToken=SECRETF1', 3)}&a=1`), '/x?next=<redacted>&a=1');
  assert.equal(redactUrl(`/x?next=${enc('https://app/?q=1', 3)}&a=1`), `/x?next=${enc('https://app/?q=1', 3)}&a=1`);
  // Deeper than that is redacted unread, value or name: nothing legitimate is encoded that deep.
  assert.equal(redactUrl(`/x?next=${enc('https://app/?q=1', 5)}&a=1`), '/x?next=<redacted>&a=1');
  assert.equal(redactUrl(`/x?${enc('%61ccess_token', 4)}=SECRETF2&a=1`), '/x?<redacted>&a=1');
  // A 16 KiB target of `%2525...41` (each pass peels one `25`): redacted without peeling them all.
  const deep = `/x?v=%${'25'.repeat(8000)}41&a=1`;
  assert.equal(redactUrl(deep), '/x?v=<redacted>&a=1');
});

let worker: Upstream;
let main: Upstream;
let gw: ChildGateway;
const dir = mkdtempSync(join(tmpdir(), 'switchyard-redact-'));
const accessLog = join(dir, 'access.log');

before(async () => {
  // The worker answers M_UNRECOGNIZED to everything, so every request is a drift replay and its
  // URL reaches the event log's drift line as well as the access log.
  worker = await startUpstream('old-worker', (req, res) => {
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}');
    return true;
  });
  main = await startUpstream('main');
  const noHc = { enabled: false };
  const file = writeRoutes(routesDoc({
    upstreams: {
      main: { servers: [{ name: 'main', url: main.url }], health_check: noHc },
      old: { servers: [{ name: 'old-worker', url: worker.url }], health_check: noHc },
    },
    routes: [{ name: 'old', match: { paths: ['^/_matrix/client/v3/', '^/_synapse/client/'] }, upstream: 'old' }],
  }));
  gw = await spawnGateway(file, ['--access-log', accessLog]);
});

after(async () => {
  await gw.stop();
  await worker.close();
  await main.close();
});

test('no spelling of a secret parameter reaches the access log or the drift event log', async () => {
  for (const [url] of CASES) {
    const r = await request(gw.port, url);
    assert.equal(r.status, 200, url);
    assert.equal((JSON.parse(r.body) as { upstream: string }).upstream, 'main', `${url} was replayed to main`);
  }
  assert.equal(await gw.stop(), 0);
  const access = readFileSync(accessLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string; drift_replay?: boolean });
  const drift = gw.stderr().split('\n').filter((l) => l.includes('routing drift')).map((l) => JSON.parse(l) as { endpoint: string });
  assert.equal(access.length, CASES.length, 'every request was logged');
  assert.equal(drift.length, CASES.length, 'every request was a drift replay');
  assert.ok(!readFileSync(accessLog, 'utf8').includes('SECRET'), `access log:\n${access.map((e) => e.path).join('\n')}`);
  assert.ok(!gw.stderr().includes('SECRET'), `event log:\n${drift.map((e) => e.endpoint).join('\n')}`);
  for (const [i, [url, , kept]] of CASES.entries()) {
    assert.ok(access[i]!.drift_replay, url);
    for (const k of kept) {
      assert.ok(access[i]!.path.includes(k), `access log path ${access[i]!.path} keeps ${k}`);
      assert.ok(drift[i]!.endpoint.includes(k), `drift endpoint ${drift[i]!.endpoint} keeps ${k}`);
    }
  }
});
