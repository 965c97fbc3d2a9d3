/**
 * Registration, login, logout and whoami (spec: Client-Server API "Account registration and
 * management", "Login"), plus Synapse's shared-secret admin registration
 * (Synapse docs/admin_api/register_api.md: GET a nonce, then POST with an HMAC-SHA1 over
 * nonce\0username\0password\0admin|notadmin keyed by `registration_shared_secret`).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Homeserver } from '../context.ts';
import { MatrixError, badJson, forbidden, missingParam } from '../errors.ts';
import { requester, type RouteDef } from '../http/types.ts';
import { checkPassword, createUser, getUser, hashPassword, issueToken, revokeAll, revokeToken } from '../storage/users.ts';

const LOCALPART = /^[a-z0-9._=\-/+]+$/;
const NONCE_TTL_MS = 60_000;

/** Routes of this module. */
export function authRoutes(hs: Homeserver): RouteDef[] {
  return [
    { method: 'GET', path: '/_matrix/client/versions', auth: 'none', placement: 'any', handler: async () => ({ body: versions() }) },
    { method: 'POST', path: '/_matrix/client/{v3}/register', auth: 'none', placement: 'any', handler: (c) => register(hs, c.body, c.query.get('kind')) },
    { method: 'GET', path: '/_matrix/client/{v3}/register/available', auth: 'none', placement: 'any', handler: (c) => available(hs, c.query.get('username')) },
    { method: 'GET', path: '/_matrix/client/{v}/login', auth: 'none', placement: 'any', handler: async () => ({ body: { flows: [{ type: 'm.login.password' }] } }) },
    { method: 'POST', path: '/_matrix/client/{v}/login', auth: 'none', placement: 'any', handler: (c) => login(hs, c.body) },
    { method: 'POST', path: '/_matrix/client/{v}/logout', auth: 'user', placement: 'main', handler: async (c) => {
      const r = requester(c);
      await revokeToken(hs.pool, r.userId, r.deviceId);
      hs.bus.invalidate('tokens', r.userId);
      return { body: {} };
    } },
    { method: 'POST', path: '/_matrix/client/{v}/logout/all', auth: 'user', placement: 'main', handler: async (c) => {
      await revokeAll(hs.pool, requester(c).userId);
      hs.bus.invalidate('tokens', requester(c).userId);
      return { body: {} };
    } },
    { method: 'GET', path: '/_matrix/client/{v3}/account/whoami', auth: 'user', placement: 'any', handler: async (c) => {
      const r = requester(c);
      return { body: { user_id: r.userId, device_id: r.deviceId, is_guest: false } };
    } },
    { method: 'GET', path: '/_matrix/client/{v3}/capabilities', auth: 'user', placement: 'any', handler: async () => ({ body: capabilities() }) },
    { method: 'GET', path: '/_synapse/admin/v1/register', auth: 'none', placement: 'main', handler: () => newNonce(hs) },
    { method: 'POST', path: '/_synapse/admin/v1/register', auth: 'none', placement: 'main', handler: (c) => adminRegister(hs, c.body) },
  ];
}

function versions(): Record<string, unknown> {
  return { versions: ['r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11'], unstable_features: {} };
}

function capabilities(): Record<string, unknown> {
  return {
    capabilities: {
      'm.change_password': { enabled: false },
      'm.room_versions': { default: '10', available: { '10': 'stable' } },
      'm.set_displayname': { enabled: true },
      'm.set_avatar_url': { enabled: true },
      'm.3pid_changes': { enabled: false },
    },
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

async function register(hs: Homeserver, body: Record<string, unknown>, kind: string | null) {
  if (kind === 'guest') throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest access is disabled');
  if (!hs.config.enable_registration) throw forbidden('Registration has been disabled');
  const auth = body.auth as Record<string, unknown> | undefined;
  if (!auth || auth.type !== 'm.login.dummy') {
    return { status: 401, body: { flows: [{ stages: ['m.login.dummy'] }], params: {}, session: randomBytes(12).toString('base64url') } };
  }
  const localpart = (str(body.username) ?? `u${Date.now()}${randomBytes(3).toString('hex')}`).toLowerCase();
  const password = str(body.password);
  if (!password) throw missingParam('password is required');
  return { body: await createAccount(hs, localpart, password, false, body) };
}

async function createAccount(hs: Homeserver, localpart: string, password: string, admin: boolean, body: Record<string, unknown>) {
  if (!LOCALPART.test(localpart) || localpart.length > 200) throw new MatrixError('M_INVALID_USERNAME', 'User ID can only contain characters a-z, 0-9, or =_-./+');
  const userId = `@${localpart}:${hs.serverName}`;
  if (!(await createUser(hs.pool, userId, await hashPassword(password), admin, str(body.displayname)))) {
    throw new MatrixError('M_USER_IN_USE', 'User ID already taken.');
  }
  const base = { user_id: userId, home_server: hs.serverName };
  if (body.inhibit_login === true) return base;
  const t = await issueToken(hs.pool, userId, str(body.device_id), str(body.initial_device_display_name));
  return { ...base, access_token: t.accessToken, device_id: t.deviceId };
}

async function available(hs: Homeserver, username: string | null) {
  if (!username) throw missingParam('username is required');
  if (!LOCALPART.test(username)) throw new MatrixError('M_INVALID_USERNAME', 'invalid username');
  if (await getUser(hs.pool, `@${username}:${hs.serverName}`)) throw new MatrixError('M_USER_IN_USE', 'User ID already taken.');
  return { body: { available: true } };
}

async function login(hs: Homeserver, body: Record<string, unknown>) {
  if (body.type !== 'm.login.password') throw new MatrixError('M_UNKNOWN', 'Unknown login type');
  const ident = body.identifier as Record<string, unknown> | undefined;
  const given = str(ident?.user) ?? str(body.user);
  if (!given) throw missingParam('identifier.user is required');
  const userId = given.startsWith('@') ? given : `@${given.toLowerCase()}:${hs.serverName}`;
  const user = await getUser(hs.pool, userId);
  if (!user || user.deactivated || !(await checkPassword(str(body.password) ?? '', user.password_hash))) {
    throw forbidden('Invalid username or password');
  }
  const t = await issueToken(hs.pool, userId, str(body.device_id), str(body.initial_device_display_name));
  return { body: { user_id: userId, access_token: t.accessToken, device_id: t.deviceId, home_server: hs.serverName } };
}

async function newNonce(hs: Homeserver) {
  if (!hs.config.registration_shared_secret) throw new MatrixError('M_UNKNOWN', 'Shared secret registration is not enabled', 400);
  const nonce = randomBytes(16).toString('hex');
  await hs.pool.query('DELETE FROM registration_nonces WHERE created_ts < $1', [Date.now() - NONCE_TTL_MS]);
  await hs.pool.query('INSERT INTO registration_nonces (nonce, created_ts) VALUES ($1, $2)', [nonce, Date.now()]);
  return { body: { nonce } };
}

/** The MAC Synapse expects for shared-secret registration. */
export function registrationMac(secret: string, nonce: string, user: string, password: string, admin: boolean, userType?: string): string {
  const h = createHmac('sha1', secret);
  h.update(nonce).update('\x00').update(user).update('\x00').update(password).update('\x00').update(admin ? 'admin' : 'notadmin');
  if (userType) h.update('\x00').update(userType);
  return h.digest('hex');
}

async function adminRegister(hs: Homeserver, body: Record<string, unknown>) {
  const secret = hs.config.registration_shared_secret;
  if (!secret) throw new MatrixError('M_UNKNOWN', 'Shared secret registration is not enabled', 400);
  const [nonce, username, password, mac] = [str(body.nonce), str(body.username), str(body.password), str(body.mac)];
  if (!nonce || !username || !password || !mac) throw badJson('nonce, username, password and mac are required');
  const del = await hs.pool.query('DELETE FROM registration_nonces WHERE nonce = $1 AND created_ts >= $2', [nonce, Date.now() - NONCE_TTL_MS]);
  if ((del.rowCount ?? 0) === 0) throw new MatrixError('M_UNKNOWN', 'unrecognised nonce', 400);
  const want = Buffer.from(registrationMac(secret, nonce, username, password, body.admin === true, str(body.user_type)));
  const got = Buffer.from(mac);
  if (want.length !== got.length || !timingSafeEqual(want, got)) throw forbidden('HMAC incorrect');
  return { body: await createAccount(hs, username.toLowerCase(), password, body.admin === true, body) };
}
