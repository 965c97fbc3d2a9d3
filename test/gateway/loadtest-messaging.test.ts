/**
 * `gateway loadtest --scenario messaging` against our real homeserver (main process alone, a
 * fresh PostgreSQL database and the runner's Redis): registration by shared secret and by open
 * registration, rooms, syncing clients and senders; every acknowledged message must reach every
 * client exactly once (lost = 0, duplicated = 0) and the report must add up.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MessagingResult } from '../../gateway/loadtest/messaging.ts';
import { startMain } from '../homeserver/harness.ts';
import { ROOT, startGateway } from './support.ts';

const exec = promisify(execFile);
const loadtest = (args: string[]) => exec(process.execPath, ['gateway/cli.ts', 'loadtest', '--scenario', 'messaging', ...args], { cwd: ROOT, timeout: 120_000, maxBuffer: 16 << 20 });

describe('loadtest messaging scenario against the homeserver', () => {
  let hs: Awaited<ReturnType<typeof startMain>>;
  before(async () => { hs = await startMain(); });
  after(async () => { await hs?.stop(); });

  it('registers with the shared secret, delivers every message once, and reports latencies', async (t) => {
    const { stdout } = await loadtest(['--target', hs.url, '--shared-secret', 'shh', '--duration', '3', '--connections', '4', '--senders', '2', '--rooms', '2', '--rate', '20', '--drain', '10', '--json']);
    const r = JSON.parse(stdout) as MessagingResult;
    t.diagnostic(`sends ${JSON.stringify(r.sends)} delivery ${JSON.stringify(r.delivery)}`);
    assert.equal(r.registration, 'shared_secret');
    assert.deepEqual(r.errors, {});
    assert.ok(r.sends.ok >= 40 && r.sends.ok <= 66, `${r.sends.ok} sends at 20/s for 3 s`);
    assert.equal(r.sends.failed, 0);
    assert.equal(r.delivery.expected, r.sends.ok * 4);
    assert.equal(r.delivery.delivered, r.delivery.expected);
    assert.equal(r.delivery.lost, 0);
    assert.equal(r.delivery.duplicated, 0);
    const l = r.delivery.latencyMs;
    assert.equal(l.count, r.delivery.delivered);
    assert.ok(l.p50 > 0 && l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max, JSON.stringify(l));
    assert.equal(r.sends.latencyMs.count, r.sends.ok);
  });

  it('registers through open registration (m.login.dummy) and prints a text summary', async () => {
    const { stdout } = await loadtest(['--target', hs.url, '--duration', '2', '--connections', '2', '--senders', '1', '--rooms', '1', '--rate', '10']);
    assert.match(stdout, /registration open/);
    assert.match(stdout, /lost 0, duplicated 0/);
    assert.match(stdout, /delivery \(send → \/sync\): (\d+) of \1 expected/);
  });

  it('delivers every message through the gateway in front of the homeserver', async () => {
    // Shared-secret registration is an admin endpoint: the public listener denies it unless the
    // load generator's address is allowed (the gateway's default answer is 403).
    const gw = await startGateway({ upstreams: { main: { servers: [{ name: 'main', url: hs.url }] } }, access: { admin_allow: ['127.0.0.1/32'] } });
    try {
      const { stdout } = await loadtest(['--target', `http://127.0.0.1:${gw.port}`, '--shared-secret', 'shh', '--duration', '2', '--connections', '3', '--senders', '1', '--rooms', '1', '--rate', '15', '--json']);
      const r = JSON.parse(stdout) as MessagingResult;
      assert.deepEqual(r.errors, {});
      assert.ok(r.sends.ok > 10, `${r.sends.ok} sends`);
      assert.equal(r.delivery.delivered, r.sends.ok * 3);
      assert.equal(r.delivery.lost, 0);
      assert.equal(r.delivery.duplicated, 0);
    } finally {
      await gw.close();
    }
  });

  it('fails clearly with a wrong shared secret (exit 1)', async () => {
    await assert.rejects(loadtest(['--target', hs.url, '--shared-secret', 'wrong', '--duration', '1', '--connections', '1']),
      (e: { code: number; stderr: string }) => e.code === 1 && /admin\/v1\/register → 4\d\d/.test(e.stderr));
  });
});
