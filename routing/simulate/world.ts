/**
 * The population a traffic model draws from: users with devices and Synapse-format access
 * tokens, rooms, and remote servers. Everything is derived from the seed, so two runs with the
 * same seed send the same requests (and a before/after comparison sees the same keys).
 */
import { crc32 } from 'node:zlib';
import { ASCII_LETTERS, BASE62, createRng, type Rng } from './prng.ts';

/** Our own server name in generated IDs and X-Matrix destinations. */
export const SERVER_NAME = 'example.org';

/** One logged-in device of a user. */
export interface Device {
  readonly token: string;
  /** Clients pick one way to send the token and keep to it: the Authorization header or `access_token`. */
  readonly inHeader: boolean;
  /** Headers every request of this device carries (shared, never mutated). */
  readonly headers: Readonly<Record<string, string>>;
  /** `access_token=…&` when the token travels in the query, else ''. */
  readonly queryAuth: string;
  /** The same without the trailing `&`, for requests with no other parameter. */
  readonly queryAuthOnly: string;
}

export interface User {
  readonly index: number;
  readonly localpart: string;
  readonly mxid: string;
  readonly ip: string;
  readonly devices: readonly Device[];
}

export interface Room {
  readonly index: number;
  readonly id: string;
  /** The room ID as a path segment: raw, and percent-encoded (`%21…%3A…`) as most clients send it. */
  readonly raw: string;
  readonly encoded: string;
}

export interface Origin {
  readonly index: number;
  readonly name: string;
  /** Remote servers may send from several addresses (DESIGN: federation origin key). */
  readonly ips: readonly string[];
  readonly authorization: string;
}

/** The sizes of a world. */
export interface WorldOptions {
  users: number;
  rooms: number;
  origins: number;
  seed: string | number;
}

export interface World {
  readonly users: readonly User[];
  readonly rooms: readonly Room[];
  readonly origins: readonly Origin[];
}

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar', 'peggy', 'trent', 'victor', 'walter'];

/**
 * A Synapse access token: `syt_<unpadded base64 of the localpart>_<20 letters>_<base62 CRC-32 of
 * the preceding text, min. 6 digits>` (synapse/handlers/auth.py, `generate_access_token`).
 */
export function synapseToken(localpart: string, rng: Rng): string {
  const base = `syt_${Buffer.from(localpart, 'utf8').toString('base64').replace(/=+$/, '')}_${rng.chars(20, ASCII_LETTERS)}`;
  return `${base}_${base62(crc32(base), 6)}`;
}

/** Synapse's base62_encode: most significant digit first, left-padded with '0' to `minWidth`. */
export function base62(n: number, minWidth: number): string {
  let s = '';
  let v = n >>> 0;
  while (v > 0) {
    s = BASE62[v % 62] + s;
    v = Math.floor(v / 62);
  }
  return s.padStart(minWidth, '0');
}

/** Builds the population. Users get 1–3 devices; 10 % of rooms use domainless IDs (room v12). */
export function createWorld(opts: WorldOptions): World {
  const rng = createRng(`world:${opts.seed}`);
  const users = Array.from({ length: opts.users }, (_, i) => makeUser(i, rng));
  const rooms = Array.from({ length: opts.rooms }, (_, i) => makeRoom(i, rng));
  const origins = Array.from({ length: opts.origins }, (_, i) => makeOrigin(i, rng));
  return { users, rooms, origins };
}

function makeUser(index: number, rng: Rng): User {
  const localpart = `${NAMES[index % NAMES.length]}.${index.toString(36)}`;
  const ip = `100.${64 + ((index >> 16) & 63)}.${(index >> 8) & 255}.${index & 255}`;
  const count = 1 + (rng.next() < 0.35 ? 1 : 0) + (rng.next() < 0.15 ? 1 : 0);
  const devices = Array.from({ length: count }, (): Device => {
    const token = synapseToken(localpart, rng);
    const inHeader = rng.next() < 0.5;
    return inHeader
      ? { token, inHeader, headers: Object.freeze({ authorization: `Bearer ${token}` }), queryAuth: '', queryAuthOnly: '' }
      : { token, inHeader, headers: Object.freeze({}), queryAuth: `access_token=${encodeURIComponent(token)}&`, queryAuthOnly: `access_token=${encodeURIComponent(token)}` };
  });
  return { index, localpart, mxid: `@${localpart}:${SERVER_NAME}`, ip, devices };
}

function makeRoom(index: number, rng: Rng): Room {
  const id = rng.next() < 0.1
    ? `!${rng.chars(43, `${ASCII_LETTERS}0123456789-_`)}`
    : `!${rng.chars(18, ASCII_LETTERS)}:${SERVER_NAME}`;
  // Fully escaped, `!` too (`%21…%3A…`), as in shared/bench; matrix-js-sdk leaves `!` as is.
  return { index, id, raw: id, encoded: encodeURIComponent(id).replace(/!/g, '%21') };
}

function makeOrigin(index: number, rng: Rng): Origin {
  const name = `remote${index}.example.net`;
  const n = rng.next() < 0.2 ? 2 + rng.below(2) : 1;
  const ips = Array.from({ length: n }, (_, k) => `203.0.${(index * 3 + k) >> 8 & 255}.${(index * 3 + k) & 255}`);
  const key = `ed25519:a_${rng.chars(4, ASCII_LETTERS)}`;
  const sig = rng.chars(86, `${ASCII_LETTERS}0123456789+/`);
  const authorization = `X-Matrix origin="${name}",destination="${SERVER_NAME}",key="${key}",sig="${sig}"`;
  return { index, name, ips, authorization };
}
