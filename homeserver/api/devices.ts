/**
 * Devices and end-to-end keys (spec: "Device management", "End-to-End Encryption" key
 * upload/query/claim/changes). Deleting a device needs user-interactive auth with the password.
 * Device-key changes are announced on the device_lists stream.
 */
import { type Homeserver, writeStream } from '../context.ts';
import { MatrixError, badJson, notFound } from '../errors.ts';
import { requester, type RequestContext, type RouteDef } from '../http/types.ts';
import { checkPassword, getUser, revokeToken } from '../storage/users.ts';
import { oneTimeKeyCounts } from '../storage/ephemeral.ts';
import { parseStreamToken } from '../streams/token.ts';

/** Routes of this module. */
export function deviceRoutes(hs: Homeserver): RouteDef[] {
  const r = (method: RouteDef['method'], path: string, handler: RouteDef['handler'], placement: RouteDef['placement'] = 'any'): RouteDef => ({ method, path, auth: 'user', placement, handler });
  return [
    r('GET', '/_matrix/client/{v3}/devices', (c) => listDevices(hs, c)),
    r('GET', '/_matrix/client/{v3}/devices/:device', (c) => getDevice(hs, c), 'main'),
    r('PUT', '/_matrix/client/{v3}/devices/:device', (c) => putDevice(hs, c), 'main'),
    r('DELETE', '/_matrix/client/{v3}/devices/:device', (c) => deleteDevice(hs, c), 'main'),
    r('POST', '/_matrix/client/{v3}/keys/upload', (c) => uploadKeys(hs, c)),
    r('POST', '/_matrix/client/{v3}/keys/query', (c) => queryKeys(hs, c)),
    r('POST', '/_matrix/client/{v3}/keys/claim', (c) => claimKeys(hs, c)),
    r('GET', '/_matrix/client/{v3}/keys/changes', (c) => keyChanges(hs, c)),
  ];
}

type DeviceRow = { device_id: string; display_name: string | null; last_seen_ts: string | null };
const deviceJson = (d: DeviceRow) => ({ device_id: d.device_id, display_name: d.display_name ?? undefined, last_seen_ts: d.last_seen_ts === null ? undefined : Number(d.last_seen_ts) });

async function listDevices(hs: Homeserver, c: RequestContext) {
  const r = await hs.pool.query<DeviceRow>('SELECT device_id, display_name, last_seen_ts FROM devices WHERE user_id = $1 ORDER BY device_id', [requester(c).userId]);
  return { body: { devices: r.rows.map(deviceJson) } };
}

async function getDevice(hs: Homeserver, c: RequestContext) {
  const r = await hs.pool.query<DeviceRow>('SELECT device_id, display_name, last_seen_ts FROM devices WHERE user_id = $1 AND device_id = $2', [requester(c).userId, c.params.device!]);
  if (!r.rows[0]) throw notFound('Device not found');
  return { body: deviceJson(r.rows[0]) };
}

async function putDevice(hs: Homeserver, c: RequestContext) {
  const r = await hs.pool.query('UPDATE devices SET display_name = $1 WHERE user_id = $2 AND device_id = $3', [c.body.display_name ?? null, requester(c).userId, c.params.device!]);
  if (!r.rowCount) throw notFound('Device not found');
  return { body: {} };
}

async function deleteDevice(hs: Homeserver, c: RequestContext) {
  const me = requester(c);
  const auth = c.body.auth as Record<string, unknown> | undefined;
  const user = await getUser(hs.pool, me.userId);
  if (!auth || auth.type !== 'm.login.password' || !(await checkPassword(String(auth.password ?? ''), user?.password_hash ?? null))) {
    return { status: 401, body: { flows: [{ stages: ['m.login.password'] }], params: {}, session: 'device-delete', ...(auth ? { errcode: 'M_FORBIDDEN', error: 'Invalid password' } : {}) } };
  }
  await revokeToken(hs.pool, me.userId, c.params.device!);
  hs.bus.invalidate('tokens', me.userId);
  await hs.pool.query('DELETE FROM e2e_device_keys WHERE user_id = $1 AND device_id = $2', [me.userId, c.params.device!]);
  await writeStream(hs, { stream: 'device_lists', user_id: me.userId });
  return { body: {} };
}

async function uploadKeys(hs: Homeserver, c: RequestContext) {
  const me = requester(c);
  const dk = c.body.device_keys as Record<string, unknown> | undefined;
  if (dk) {
    if (dk.user_id !== me.userId || dk.device_id !== me.deviceId) throw badJson('device_keys must be for the requesting device');
    await hs.pool.query('INSERT INTO e2e_device_keys (user_id, device_id, keys) VALUES ($1,$2,$3) ON CONFLICT (user_id, device_id) DO UPDATE SET keys = EXCLUDED.keys', [me.userId, me.deviceId, JSON.stringify(dk)]);
    await writeStream(hs, { stream: 'device_lists', user_id: me.userId });
  }
  const otk = (c.body.one_time_keys as Record<string, unknown> | undefined) ?? {};
  for (const [id, key] of Object.entries(otk)) {
    const [algorithm, keyId] = id.split(':');
    if (!algorithm || !keyId) throw badJson(`invalid one-time key id ${id}`);
    await hs.pool.query('INSERT INTO e2e_one_time_keys (user_id, device_id, algorithm, key_id, key) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING', [me.userId, me.deviceId, algorithm, keyId, JSON.stringify(key)]);
  }
  hs.bus.invalidate('one_time_keys', `${me.userId}|${me.deviceId}`);
  return { body: { one_time_key_counts: await oneTimeKeyCounts(hs.pool, me.userId, me.deviceId) } };
}

async function queryKeys(hs: Homeserver, c: RequestContext) {
  const wanted = (c.body.device_keys as Record<string, unknown> | undefined) ?? {};
  const out: Record<string, Record<string, unknown>> = {};
  for (const [user, devices] of Object.entries(wanted)) {
    const list = Array.isArray(devices) ? devices.filter((d): d is string => typeof d === 'string') : [];
    const r = await hs.pool.query<{ device_id: string; keys: Record<string, unknown> }>(
      list.length > 0 ? 'SELECT device_id, keys FROM e2e_device_keys WHERE user_id = $1 AND device_id = ANY($2)' : 'SELECT device_id, keys FROM e2e_device_keys WHERE user_id = $1',
      list.length > 0 ? [user, list] : [user]);
    out[user] = Object.fromEntries(r.rows.map((x) => [x.device_id, x.keys]));
  }
  return { body: { device_keys: out, failures: {} } };
}

async function claimKeys(hs: Homeserver, c: RequestContext) {
  const wanted = (c.body.one_time_keys as Record<string, Record<string, string>> | undefined) ?? {};
  const out: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const [user, devices] of Object.entries(wanted)) {
    for (const [device, algorithm] of Object.entries(devices)) {
      const r = await hs.pool.query<{ key_id: string; key: unknown }>(
        `DELETE FROM e2e_one_time_keys WHERE ctid = (SELECT ctid FROM e2e_one_time_keys WHERE user_id = $1 AND device_id = $2 AND algorithm = $3 LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING key_id, key`,
        [user, device, algorithm]);
      if (r.rows[0]) ((out[user] ??= {})[device] = { [`${algorithm}:${r.rows[0].key_id}`]: r.rows[0].key });
      if (r.rows[0]) hs.bus.invalidate('one_time_keys', `${user}|${device}`);
    }
  }
  return { body: { one_time_keys: out, failures: {} } };
}

async function keyChanges(hs: Homeserver, c: RequestContext) {
  const from = parseStreamToken(c.query.get('from') ?? '');
  const to = parseStreamToken(c.query.get('to') ?? '');
  if (!from || !to) throw new MatrixError('M_INVALID_PARAM', 'from and to must be sync tokens');
  const r = await hs.pool.query<{ user_id: string }>('SELECT DISTINCT user_id FROM device_lists_stream WHERE stream_id > $1 AND stream_id <= $2', [from.device_lists, to.device_lists]);
  return { body: { changed: r.rows.map((x) => x.user_id), left: [] } };
}
