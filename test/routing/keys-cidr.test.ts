/**
 * CidrSet (routing/cidr.ts) against node:net BlockList as an independent oracle, plus the
 * parsing edge cases that decide whether a trusted-proxy or admin-allow entry is accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { CidrSet, normalizeIp, parseCidr } from '../../routing/cidr.ts';
import { rng } from '../support/rng.ts';

test('IPv4, IPv6 and IPv4-mapped IPv6 membership', () => {
  const set = new CidrSet(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1', '::ffff:172.16.0.0/108']);
  for (const ip of ['10.0.0.0', '10.255.255.255', '::ffff:10.1.2.3', '::FFFF:a01:203', '192.168.1.7', '2001:db8::1', '2001:DB8:ffff::', '::1', '172.16.5.5', '::ffff:172.31.255.255', 'fe80::1%eth0'.replace('fe80::1', '::1')]) {
    assert.equal(set.has(ip), true, ip);
  }
  for (const ip of ['11.0.0.0', '9.255.255.255', '192.168.1.8', '2001:db9::', '::2', '172.32.0.0', 'not-an-ip', '', '10.0.0', '1.2.3.4.5', '010.0.0.1', '::ffff:11.0.0.1']) {
    assert.equal(set.has(ip), false, ip);
  }
  assert.equal(new CidrSet([]).has('10.0.0.1'), false);
  assert.equal(new CidrSet(['0.0.0.0/0']).has('203.0.113.1'), true);
  assert.equal(new CidrSet(['0.0.0.0/0']).has('2001:db8::1'), false);
  assert.equal(new CidrSet(['::/0']).has('2001:db8::1'), true);
});

test('bad CIDRs throw a clear error naming the entry', () => {
  for (const bad of ['10.0.0.0/33', '10.0.0/8', '300.1.1.1', '2001:db8::/129', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'example.org', '10.0.0.0/', '10.0.0.0/-1', '1::2::3', '']) {
    assert.throws(() => parseCidr(bad), (e: Error) => e instanceof Error && e.message.includes(`"${bad}"`), bad);
  }
  assert.deepEqual(Array.from(parseCidr('10.9.8.7/8').words), [0, 0, 0xffff, 0x0a000000]);
  assert.equal(parseCidr('2001:db8::/32').bits, 32);
  assert.equal(parseCidr('10.0.0.0/8').bits, 104);
});

test('normalizeIp strips the IPv4-mapped prefix only', () => {
  assert.equal(normalizeIp('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(normalizeIp('::FFFF:1.2.3.4'), '1.2.3.4');
  assert.equal(normalizeIp('::ffff:102:304'), '::ffff:102:304');
  assert.equal(normalizeIp('2001:db8::1'), '2001:db8::1');
  assert.equal(normalizeIp('1.2.3.4'), '1.2.3.4');
});

function v4(r: () => number): string {
  return Array.from({ length: 4 }, () => Math.floor(r() * 4) === 0 ? 10 : Math.floor(r() * 256)).join('.');
}

function v6(r: () => number): string {
  const g = Array.from({ length: 8 }, () => (r() < 0.4 ? 0 : Math.floor(r() * 0x10000)).toString(16));
  g[0] = r() < 0.5 ? '2001' : g[0]!;
  return g.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

test('agrees with node:net BlockList on 20,000 seeded random addresses', () => {
  const r = rng(42);
  const cidrs: string[] = [];
  const oracle = new BlockList();
  for (let i = 0; i < 12; i++) {
    const six = i % 2 === 1;
    const addr = six ? v6(r) : v4(r);
    const len = Math.floor(r() * (six ? 64 : 24)) + (six ? 1 : 4);
    const net = parseCidr(`${addr}/${len}`);
    cidrs.push(`${addr}/${len}`);
    oracle.addSubnet(net.family === 4 ? [net.words[3]! >>> 24, (net.words[3]! >>> 16) & 255, (net.words[3]! >>> 8) & 255, net.words[3]! & 255].join('.') : addr, len, six ? 'ipv6' : 'ipv4');
  }
  const set = new CidrSet(cidrs);
  let hits = 0;
  for (let i = 0; i < 20_000; i++) {
    const six = r() < 0.4;
    const ip = six ? v6(r) : v4(r);
    const expected = oracle.check(ip, six ? 'ipv6' : 'ipv4');
    assert.equal(set.has(ip), expected, `${ip} in ${cidrs.join(' ')}`);
    if (!six) assert.equal(set.has(`::ffff:${ip}`), expected, `::ffff:${ip}`);
    if (expected) hits++;
  }
  assert.ok(hits > 500, `the sample must exercise members too (hits=${hits})`);
});
