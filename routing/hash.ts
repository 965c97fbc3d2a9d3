/**
 * Hash helpers shared by the keyed balancers. One place decides how a key string becomes bytes
 * and how bytes become a number, so that nginx compatibility and Synapse compatibility are each
 * settled once.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import { hash as oneShotHash } from 'node:crypto';

/**
 * True when every UTF-16 unit of `s` is ≤ 0x7f. Such strings are their own bytes in every
 * encoding, so they can go to native hashing without a Buffer.
 */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** True when every UTF-16 unit of `s` fits in one byte (what node:http gives for raw header bytes). */
function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/**
 * The request bytes behind a key string. node:http decodes header values and the request target
 * as latin1 (one char per byte), so a latin1 string is turned back into exactly the bytes on the
 * wire — the bytes nginx hashes. Strings with wider characters (built by hand, e.g. `explain`)
 * are encoded as UTF-8.
 */
export function wireBytes(s: string): string | Buffer {
  if (isAscii(s)) return s;
  return Buffer.from(s, isLatin1(s) ? 'latin1' : 'utf8');
}

/**
 * The reflected CRC-32 tables (polynomial 0xEDB88320) for slicing-by-4: CRC_TABLES[0] is the
 * classic byte table; table k advances a byte through k further zero bytes, so four bytes fold
 * in with four independent lookups instead of a chain of four dependent ones.
 */
const CRC_TABLES = (() => {
  const t = new Int32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 4; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!;
  }
  return t;
})();

/**
 * Standard CRC-32 (zlib, ISO-HDLC) of the key's wire bytes, as nginx `ngx_crc32_long` computes it.
 * Keys are short, so a table-driven loop over the char codes (which are the wire bytes when
 * every unit is ≤ 0xff, see `wireBytes`) beats a call into zlib; four units per step
 * (slicing-by-4). Wider strings go to zlib as UTF-8.
 */
export function crc32Key(key: string): number {
  const t = CRC_TABLES;
  const n = key.length;
  let c = -1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = key.charCodeAt(i);
    const b = key.charCodeAt(i + 1);
    const d = key.charCodeAt(i + 2);
    const e = key.charCodeAt(i + 3);
    if ((a | b | d | e) > 0xff) return zlibCrc32(wireBytes(key));
    c ^= a | (b << 8) | (d << 16) | (e << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < n; i++) {
    const u = key.charCodeAt(i);
    if (u > 0xff) return zlibCrc32(wireBytes(key));
    c = t[(c ^ u) & 0xff]! ^ (c >>> 8);
  }
  return (c ^ -1) >>> 0;
}

/** zlib crc32 re-exported for ring construction: `crc32(b, crc32(a)) === crc32(a ‖ b)`. */
export function crc32(data: string | Uint8Array, prev = 0): number {
  return zlibCrc32(data, prev);
}

/** Murmur3's 32-bit finaliser: spreads CRC-32's linear structure over the whole ring. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Position of a key on the consistent_hash ring (not nginx's: that one is `crc32Key`). */
export function ringHash(key: string): number {
  return fmix32(crc32Key(key));
}

/**
 * Synapse's shard index: `int.from_bytes(sha256(key.encode("utf8")).digest(), "little") % n`
 * (synapse/config/workers.py, `ShardedWorkerHandlingConfig._get_instance`, used for
 * `stream_writers.events` and, in synapse/config/federation.py, for federation senders).
 * The little-endian integer is reduced from its most significant byte (index 31) down, so no
 * BigInt is needed: acc stays below n·256.
 */
export function sha256LittleEndianMod(key: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`shard count must be a positive integer, got ${n}`);
  const digest = oneShotHash('sha256', key, 'buffer'); // a string input is hashed as UTF-8
  let acc = 0;
  for (let i = digest.length - 1; i >= 0; i--) acc = (acc * 256 + digest[i]!) % n;
  return acc;
}
