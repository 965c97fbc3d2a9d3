/**
 * Users, devices and access tokens. Tokens have Synapse's shape so the gateway's token-user key
 * works on them (synapse/handlers/auth.py generate_access_token):
 * `syt_<unpadded base64 localpart>_<20 random letters>_<base62 crc32 of the rest, 6 chars>`.
 * Only a SHA-256 of each token is stored. Passwords are hashed with scrypt (node:crypto).
 */
import { createHash, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { promisify } from 'node:util';
import type { Queryable } from './db.ts';
import type { Requester } from '../http/types.ts';

const scryptAsync = promisify(scrypt) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Synapse's base62_encode with a minimum width. */
export function base62(n: number, minWidth: number): string {
  let out = '';
  for (let v = n; v > 0; v = Math.floor(v / 62)) out = BASE62[v % 62] + out;
  return out.padStart(minWidth, '0');
}

function randomLetters(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s;
}

/** A new access token for a user ID in Synapse's format. */
export function generateAccessToken(userId: string): string {
  const localpart = userId.slice(1, userId.indexOf(':'));
  const base = `syt_${Buffer.from(localpart, 'utf8').toString('base64').replace(/=+$/, '')}_${randomLetters(20)}`;
  return `${base}_${base62(crc32(Buffer.from(base, 'ascii')), 6)}`;
}

/** Reads the token from `Authorization: Bearer` or the deprecated `access_token` query parameter. */
export function tokenFromRequest(authorization: string | undefined, query: URLSearchParams): string | undefined {
  if (authorization) {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    return m ? m[1] : undefined;
  }
  return query.get('access_token') ?? undefined;
}

/** The stored (and cached) form of a token. */
export const hashToken = (t: string): string => createHash('sha256').update(t).digest('base64');

/** The user and device behind a token, or undefined. */
export async function requesterForToken(q: Queryable, token: string): Promise<Requester | undefined> {
  const r = await q.query<{ user_id: string; device_id: string; admin: boolean; deactivated: boolean }>(
    'SELECT t.user_id, t.device_id, u.admin, u.deactivated FROM access_tokens t JOIN users u ON u.user_id = t.user_id WHERE t.token_hash = $1', [hashToken(token)]);
  const row = r.rows[0];
  if (!row || row.deactivated) return undefined;
  return { userId: row.user_id, deviceId: row.device_id, isAdmin: row.admin };
}

/** scrypt hash as `scrypt$<salt b64>$<hash b64>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function checkPassword(password: string, stored: string | null): Promise<boolean> {
  const parts = stored?.split('$');
  if (!parts || parts.length !== 3 || parts[0] !== 'scrypt') return false;
  const hash = await scryptAsync(password, Buffer.from(parts[1]!, 'base64'), 32);
  const want = Buffer.from(parts[2]!, 'base64');
  return want.length === hash.length && timingSafeEqual(hash, want);
}

/** Creates a user; false when the ID is taken. */
export async function createUser(q: Queryable, userId: string, passwordHash: string | null, admin: boolean, displayname?: string): Promise<boolean> {
  const r = await q.query('INSERT INTO users (user_id, password_hash, admin, created_ts, displayname) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING',
    [userId, passwordHash, admin, Date.now(), displayname ?? userId.slice(1, userId.indexOf(':'))]);
  return (r.rowCount ?? 0) > 0;
}

export interface UserRow { user_id: string; password_hash: string | null; admin: boolean; displayname: string | null; avatar_url: string | null; deactivated: boolean }

export async function getUser(q: Queryable, userId: string): Promise<UserRow | undefined> {
  const r = await q.query<UserRow>('SELECT user_id, password_hash, admin, displayname, avatar_url, deactivated FROM users WHERE user_id = $1', [userId]);
  return r.rows[0];
}

/** Creates (or reuses) a device and issues a token for it. */
export async function issueToken(q: Queryable, userId: string, deviceId: string | undefined, displayName?: string): Promise<{ accessToken: string; deviceId: string }> {
  const device = deviceId ?? randomLetters(10).toUpperCase();
  await q.query('INSERT INTO devices (user_id, device_id, display_name, last_seen_ts) VALUES ($1,$2,$3,$4) ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_ts = EXCLUDED.last_seen_ts',
    [userId, device, displayName ?? null, Date.now()]);
  const token = generateAccessToken(userId);
  await q.query('INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts) VALUES ($1,$2,$3,$4)', [hashToken(token), userId, device, Date.now()]);
  return { accessToken: token, deviceId: device };
}

/** Logs out one token (and deletes its device, as Synapse does). */
export async function revokeToken(q: Queryable, userId: string, deviceId: string): Promise<void> {
  await q.query('DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
  await q.query('DELETE FROM devices WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
}

export async function revokeAll(q: Queryable, userId: string): Promise<void> {
  await q.query('DELETE FROM access_tokens WHERE user_id = $1', [userId]);
  await q.query('DELETE FROM devices WHERE user_id = $1', [userId]);
}
