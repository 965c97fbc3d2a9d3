/**
 * CIDR sets for trusted proxies and the admin allow list. Every address is held as 128 bits
 * (four 32-bit words); IPv4 is the IPv4-mapped range `::ffff:0:0/96` (RFC 4291 §2.5.5.2), so
 * `10.0.0.0/8` also matches `::ffff:10.1.2.3` and one comparison loop serves both families.
 * `has()` runs per request: it parses without regexes and reuses one scratch buffer.
 */

/** One parsed CIDR: the network (host bits cleared) and its prefix length in 128-bit space. */
export interface Cidr {
  readonly text: string;
  readonly family: 4 | 6;
  /** Network address, 4 × 32-bit words, most significant first. */
  readonly words: Uint32Array;
  /** Prefix length over 128 bits (an IPv4 /n is 96 + n). */
  readonly bits: number;
}

const scratch = new Uint32Array(4);

/** Parses dotted-quad IPv4 from s[start, end) into one 32-bit word; -1 when malformed. */
function parseV4(s: string, start: number, end: number): number {
  let word = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    let value = 0;
    let digits = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      if (digits === 1 && value === 0) return -1; // leading zero: ambiguous (octal in some parsers)
      value = value * 10 + (c - 48);
      digits++;
      i++;
    }
    if (digits === 0 || value > 255) return -1;
    word = word * 256 + value;
    parts++;
    if (parts < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === end ? word : -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses IPv6 (with `::` and an optional dotted IPv4 tail) from s[start, end) into 8 groups. */
function parseV6Groups(s: string, start: number, end: number, groups: number[]): boolean {
  let gap = -1;
  let n = 0;
  let i = start;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (n >= 8) return false;
    let value = 0;
    let digits = 0;
    const groupStart = i;
    while (i < end) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      i++;
    }
    if (i < end && s.charCodeAt(i) === 46) {
      const v4 = n <= 6 ? parseV4(s, groupStart, end) : -1;
      if (v4 < 0) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups[n++] = value;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0) return n === 8;
  if (n > 7) return false;
  const tail = n - gap;
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

const groupScratch: number[] = [0, 0, 0, 0, 0, 0, 0, 0];

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone `%eth0` is ignored) into `out`. Returns the
 * family, or 0 when `s` is not an address.
 */
export function parseIpInto(s: string, out: Uint32Array): 0 | 4 | 6 {
  let end = s.length;
  const zone = s.indexOf('%');
  if (zone >= 0) end = zone;
  if (s.indexOf(':') < 0) {
    const v4 = parseV4(s, 0, end);
    if (v4 < 0) return 0;
    out[0] = 0; out[1] = 0; out[2] = 0xffff; out[3] = v4;
    return 4;
  }
  if (!parseV6Groups(s, 0, end, groupScratch)) return 0;
  for (let w = 0; w < 4; w++) out[w] = ((groupScratch[2 * w]! << 16) | groupScratch[2 * w + 1]!) >>> 0;
  return 6;
}

function maskWord(bits: number, w: number): number {
  const take = Math.min(32, Math.max(0, bits - 32 * w));
  return take === 0 ? 0 : (0xffffffff << (32 - take)) >>> 0;
}

/**
 * Parses `addr` or `addr/len` (IPv4 or IPv6). A bare address is a single host; host bits below
 * the prefix are cleared (as Python's `ip_network(strict=False)` does). Throws an Error naming
 * the bad text otherwise.
 */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const words = new Uint32Array(4);
  const family = addr.includes('%') ? 0 : parseIpInto(addr, words);
  if (family === 0) throw new Error(`invalid CIDR "${s}": "${addr}" is not an IPv4 or IPv6 address`);
  const max = family === 4 ? 32 : 128;
  const lenText = slash < 0 ? String(max) : s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    throw new Error(`invalid CIDR "${s}": prefix length must be an integer from 0 to ${max}`);
  }
  const bits = Number(lenText) + (family === 4 ? 96 : 0);
  for (let w = 0; w < 4; w++) words[w] = (words[w]! & maskWord(bits, w)) >>> 0;
  return { text: s, family, words, bits };
}

/** Strips a leading `::ffff:` from IPv4-mapped IPv6 text (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function normalizeIp(ip: string): string {
  if (ip.length > 7 && ip.charCodeAt(0) === 58 && ip.charCodeAt(1) === 58 && ip.charCodeAt(6) === 58 && ip.indexOf('.') > 0) {
    const head = ip.slice(2, 6).toLowerCase();
    if (head === 'ffff') return ip.slice(7);
  }
  return ip;
}

/** `[v6]:port` → `v6`, `1.2.3.4:port` → `1.2.3.4`; some proxies append ports to X-Forwarded-For entries. */
export function stripPort(entry: string): string {
  if (entry.charCodeAt(0) === 91) {
    const close = entry.indexOf(']');
    return close > 0 ? entry.slice(1, close) : entry;
  }
  const colon = entry.indexOf(':');
  if (colon > 0 && entry.indexOf('.') > 0 && entry.indexOf(':', colon + 1) < 0) return entry.slice(0, colon);
  return entry;
}

/**
 * A set of CIDRs answering "is this address inside?". Invalid CIDRs throw at construction (so
 * configuration errors surface at load time); an unparsable address is simply not a member.
 */
export class CidrSet {
  readonly cidrs: readonly Cidr[];
  readonly #masks: Uint32Array;
  readonly #nets: Uint32Array;

  constructor(cidrs: readonly string[]) {
    this.cidrs = cidrs.map(parseCidr);
    this.#masks = new Uint32Array(4 * this.cidrs.length);
    this.#nets = new Uint32Array(4 * this.cidrs.length);
    this.cidrs.forEach((c, i) => {
      for (let w = 0; w < 4; w++) {
        this.#masks[4 * i + w] = maskWord(c.bits, w);
        this.#nets[4 * i + w] = c.words[w]!;
      }
    });
  }

  get size(): number {
    return this.cidrs.length;
  }

  /** True when `ip` (IPv4, IPv6 or IPv4-mapped IPv6) lies in one of the CIDRs. */
  has(ip: string): boolean {
    const n = this.cidrs.length;
    if (n === 0 || parseIpInto(ip, scratch) === 0) return false;
    const m = this.#masks;
    const t = this.#nets;
    for (let i = 0; i < 4 * n; i += 4) {
      if (((scratch[0]! & m[i]!) >>> 0) === t[i] && ((scratch[1]! & m[i + 1]!) >>> 0) === t[i + 1]
        && ((scratch[2]! & m[i + 2]!) >>> 0) === t[i + 2] && ((scratch[3]! & m[i + 3]!) >>> 0) === t[i + 3]) return true;
    }
    return false;
  }
}
