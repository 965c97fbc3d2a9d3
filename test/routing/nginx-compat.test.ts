/**
 * nginx_hash reproduces nginx `hash $key consistent` (issue 2 point 8): the test vectors of
 * ../shared/nginx-consistent-hash.md §6, then a real nginx (Debian package) in front of tiny
 * Node servers that answer their own name, compared key by key over three upstream layouts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, Agent, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { createBalancer } from '../../routing/balancers/index.ts';
import { nginxPoints, splitHostPort } from '../../routing/balancers/nginx-hash.ts';
import { createKeyExtractor } from '../../routing/keys.ts';
import type { ServerState } from '../../routing/types.ts';
import { freePort } from '../support/services.ts';

function server(port: number, weight = 1, down = false): ServerState {
  return { upstream: 'u', name: `w${port}`, url: `http://127.0.0.1:${port}`, weight, down, available: true, inflight: 0 };
}

const nginxHash = (servers: ServerState[]) => createBalancer({ policy: 'nginx_hash', key: { query: 'k' }, fallback: 'round_robin' }, servers);

test('§6 vectors: base CRC, first ring points, and the A/B/C upstream table', () => {
  assert.equal(crc32('127.0.0.1\x008013'), 0xabccb2fc);
  assert.deepEqual(nginxPoints('127.0.0.1:8013', 1).slice(0, 3), [0x0d65be5f, 0x37f091ee, 0x6b151e21]);
  assert.equal(nginxPoints('127.0.0.1:8013', 1).length, 160);
  const A = nginxHash([server(8013), server(8037), server(8038), server(8039)]);
  const B = nginxHash([server(8013, 2), server(8037), server(8038, 3)]);
  const C = nginxHash([server(8013), server(8037, 1, true), server(8038), server(8039)]);
  const table: [string, number, number, number, number][] = [
    ['alice', 0x278ebc47, 8037, 8013, 8038],
    ['bob', 0xf5cbb140, 8013, 8013, 8013],
    ['YWxpY2U', 0x0d2ba4f2, 8038, 8038, 8038],
    ['QGJvYg', 0x80b940f5, 8038, 8038, 8038],
    ['ZXhhbXBsZQ', 0x49ac9c4d, 8013, 8038, 8013],
    ['dXNlcjE', 0x474ed0ca, 8013, 8013, 8013],
    ['dXNlcjI', 0x4ef89ce1, 8039, 8013, 8039],
  ];
  for (const [key, crc, a, b, c] of table) {
    assert.equal(crc32(key), crc, key);
    assert.deepEqual([A.pick(key)?.name, B.pick(key)?.name, C.pick(key)?.name], [`w${a}`, `w${b}`, `w${c}`], key);
  }
  assert.deepEqual([A.pick(''), A.pick(null), A.pick('')].map((s) => s?.name), ['w8013', 'w8037', 'w8038']);
});

test('server names split into host and port as nginx does', () => {
  assert.deepEqual(splitHostPort('127.0.0.1:8013'), ['127.0.0.1', '8013']);
  assert.deepEqual(splitHostPort('[::1]:8013'), ['[::1]', '8013']);
  assert.deepEqual(splitHostPort('backend'), ['backend', '']);
  assert.deepEqual(splitHostPort('UNIX:/run/w.sock'), ['/run/w.sock', '']);
  assert.deepEqual(splitHostPort('host:80a'), ['host:80a', '']);
});

test('the walk gives up after 21 unusable points and falls back to round robin', () => {
  const servers = [server(8013), server(8037), server(8038), server(8039)];
  const b = nginxHash(servers);
  servers[1]!.available = false;
  servers[2]!.available = false;
  servers[3]!.available = false;
  // Every key now either reaches 8013 within 21 points or falls back; the fallback can only pick 8013 too.
  for (let i = 0; i < 200; i++) assert.equal(b.pick(`k${i}`)?.name, 'w8013');
  servers[0]!.available = false;
  assert.equal(b.pick('k1'), null);
});

test('a failed or already-tried server is skipped like `down`, and its keys return on recovery', () => {
  const servers = [server(8013), server(8037), server(8038), server(8039)];
  const b = nginxHash(servers);
  const downRing = nginxHash([server(8013), server(8037, 1, true), server(8038), server(8039)]);
  const keys = Array.from({ length: 3000 }, (_, i) => `@u${i}:example.org`);
  const before = keys.map((k) => b.pick(k)!.name);
  const retried = keys.map((k) => b.pick(k, new Set([servers[1]!]))!.name);
  servers[1]!.available = false;
  const during = keys.map((k) => b.pick(k)!.name);
  assert.deepEqual(during, keys.map((k) => downRing.pick(k)!.name));
  assert.deepEqual(retried, during);
  keys.forEach((_, i) => { if (before[i] !== 'w8037') assert.equal(during[i], before[i]); });
  servers[1]!.available = true;
  assert.deepEqual(keys.map((k) => b.pick(k)!.name), before);
});

interface Layout { readonly name: string; readonly servers: ServerState[]; readonly key: string }

/** The two maps of workers.md "Load balancing" (with the `<username>` group name the seed copy lost). */
const WORKERS_MD_MAPS = `
  map $arg_access_token $accesstoken_from_urlparam {
    default $arg_access_token;
    "~syt_(?<username>.*?)_.*" $username;
  }
  map $http_authorization $mxid_localpart {
    default $http_authorization;
    "~Bearer syt_(?<username>.*?)_.*" $username;
    "" $accesstoken_from_urlparam;
  }`;

function nginxConf(dir: string, listen: number, layouts: readonly Layout[]): string {
  const asRoot = process.getuid?.() === 0;
  const upstreams = layouts.map((l) => `  upstream ${l.name} {\n    hash ${l.key} consistent;\n${l.servers
    .map((s) => `    server ${s.url.slice('http://'.length)}${s.weight > 1 ? ` weight=${s.weight}` : ''}${s.down ? ' down' : ''};`).join('\n')}\n  }`);
  const locations = layouts.map((l) => `    location /${l.name}/ { proxy_pass http://${l.name}; }`);
  return [
    asRoot ? 'user root;' : '', 'worker_processes 1;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log warn;`,
    'events { worker_connections 512; }',
    'http {', '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
    WORKERS_MD_MAPS,
    ...upstreams,
    `  server {\n    listen 127.0.0.1:${listen};\n${locations.join('\n')}\n  }`, '}', '',
  ].join('\n');
}

async function startBackends(count: number): Promise<{ servers: Server[]; ports: number[] }> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const srv = createServer((_req, res) => res.end(`127.0.0.1:${ports[i]}`));
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const addr = srv.address();
    ports.push(typeof addr === 'object' && addr ? addr.port : 0);
    servers.push(srv);
  }
  return { servers, ports };
}

async function waitForPort(port: number, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1', () => { sock.destroy(); resolve(true); });
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nginx did not listen on ${port}: ${log()}`);
}

function get(agent: Agent, port: number, path: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Seeded keys in the shapes that reach a hash in practice: base64 localparts, user IDs, percent escapes, odd bytes. */
function keys(seed: number, n: number): string[] {
  let s = seed;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_.~!*:@';
  return Array.from({ length: n }, (_, i) => {
    let k = '';
    for (let j = 0, len = 1 + (next() % 24); j < len; j++) k += alphabet[next() % alphabet.length];
    if (i % 7 === 0) k = `%40${k}%3Aexample.org`;
    if (i % 11 === 0) k += '%F0%9F%98%80';
    return k;
  });
}

/** A query carrying key `k` in one of the spellings nginx's `$arg_k` accepts. */
function queryFor(k: string, i: number): string {
  if (i % 13 === 0) return `K=${k}`;
  if (i % 17 === 0) return `x=1&k=${k}&k=second`;
  return `k=${k}`;
}

test('a real nginx with `hash $arg_k consistent` agrees with nginx_hash on every key, for three layouts', async (t) => {
  const { servers: backends, ports } = await startBackends(4);
  const [p1, p2, p3, p4] = ports as [number, number, number, number];
  const layouts: Layout[] = [
    { name: 'equal', key: '$arg_k', servers: [server(p1), server(p2), server(p3), server(p4)] },
    { name: 'weighted', key: '$arg_k', servers: [server(p1, 2), server(p2), server(p3, 3)] },
    { name: 'down', key: '$arg_k', servers: [server(p1), server(p2, 1, true), server(p3), server(p4)] },
    { name: 'tokens', key: '$mxid_localpart', servers: [server(p1), server(p2), server(p3, 2), server(p4)] },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-nginx-'));
  const listen = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, listen, layouts));
  const nginx = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  nginx.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const log = () => { try { return stderr + readFileSync(join(dir, 'error.log'), 'utf8'); } catch { return stderr; } };
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  t.after(async () => {
    agent.destroy();
    if (nginx.exitCode === null && nginx.pid !== undefined) {
      const exited = new Promise((resolve) => nginx.once('exit', resolve));
      process.kill(nginx.pid, 'SIGTERM');
      await exited;
    }
    await Promise.all(backends.map((b) => new Promise((resolve) => b.close(resolve))));
    rmSync(dir, { recursive: true, force: true });
  });
  await waitForPort(listen, log);

  const extract = createKeyExtractor({ query: 'k' }, { trustedProxies: [], nginxCompat: true });
  const all = keys(99, 1200);
  for (const layout of layouts.filter((l) => l.key === '$arg_k')) {
    const ours = nginxHash(layout.servers);
    const answers = new Array<string>(all.length);
    for (let i = 0; i < all.length; i += 32) {
      await Promise.all(all.slice(i, i + 32).map(async (k, j) => {
        answers[i + j] = await get(agent, listen, `/${layout.name}/?${queryFor(k, i + j)}`);
      }));
    }
    let agree = 0;
    const counts = new Map<string, number>();
    all.forEach((k, i) => {
      const key = extract({ method: 'GET', path: `/${layout.name}/`, query: queryFor(k, i), headers: {}, sourceIp: '127.0.0.1' });
      assert.equal(key, k, 'the extractor reads $arg_k as nginx does');
      const expected = ours.pick(key)!.url.slice('http://'.length);
      assert.equal(answers[i], expected, `layout ${layout.name}, key ${JSON.stringify(k)}`);
      agree++;
      counts.set(expected, (counts.get(expected) ?? 0) + 1);
    });
    assert.equal(agree, all.length);
    assert.equal(counts.size, layout.servers.filter((s) => !s.down).length, 'every usable server received keys');
    t.diagnostic(`${layout.name}: nginx and nginx_hash agree on ${agree}/${all.length} keys`);
  }

  await compareTokens(t, agent, listen, layouts[3]!);
});

/** Client requests as Synapse clients send them: syt_/mat_/macaroon tokens in the header or the query. */
interface TokenRequest { readonly path: string; readonly headers: Record<string, string> }

function tokenRequests(n: number): TokenRequest[] {
  let s = 7;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  const letters = (len: number, from: string) => Array.from({ length: len }, () => from[next() % from.length]).join('');
  const b62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: n }, (_, i): TokenRequest => {
    const local = Buffer.from(`user${next() % 5000}.${letters(next() % 6, 'abc=_-')}`).toString('base64').replace(/=+$/, '');
    const syt = `syt_${local}_${letters(20, b62.slice(0, 52))}_${letters(6, b62)}`;
    const other = [`mat_${letters(30, b62)}`, `MDAx${letters(40, b62)}`, `as_${letters(12, b62)}`][i % 3]!;
    const token = i % 4 === 3 ? other : syt;
    if (i % 2 === 0) return { path: '/tokens/_matrix/client/v3/sync?since=s1', headers: { authorization: `Bearer ${token}` } };
    const q = i % 10 === 1 ? encodeURIComponent(token) : token;
    return { path: `/tokens/_matrix/client/v3/sync?since=s1&access_token=${q}`, headers: {} };
  });
}

async function compareTokens(t: { diagnostic(s: string): void }, agent: Agent, port: number, layout: Layout): Promise<void> {
  const ours = nginxHash(layout.servers);
  const extract = createKeyExtractor('token_user', { trustedProxies: [], nginxCompat: true });
  const reqs = tokenRequests(1200);
  let agree = 0;
  for (let i = 0; i < reqs.length; i += 32) {
    await Promise.all(reqs.slice(i, i + 32).map(async ({ path, headers }) => {
      const answer = await get(agent, port, path, headers);
      const q = path.indexOf('?');
      const key = extract({ method: 'GET', path: path.slice(0, q), query: path.slice(q + 1), headers, sourceIp: '127.0.0.1' });
      assert.ok(key, `every request here carries a token: ${path}`);
      assert.equal(answer, ours.pick(key)!.url.slice('http://'.length), `token key ${JSON.stringify(key)}`);
      agree++;
    }));
  }
  assert.equal(agree, reqs.length);
  t.diagnostic(`tokens ($mxid_localpart maps): nginx and nginx_hash + token_user agree on ${agree}/${reqs.length} requests`);
}
