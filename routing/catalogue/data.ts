/**
 * The versioned endpoint table: every endpoint regex listed in docs/workers.md of the Synapse
 * releases in SYNAPSE_VERSIONS, each row with the document section it came from and the
 * releases that list it (`since` / `until`). Regexes are copied verbatim from the document;
 * they are data, not code.
 */
import type { CatalogueRow, GroupName } from './types.ts';

type Item = string | (Omit<CatalogueRow, 'group' | 'section'> & { readonly group?: GroupName });

/** Rows of one documented list: a group, a section, and its regexes with optional per-row facts. */
function block(group: GroupName, section: string, items: readonly Item[], common: Partial<CatalogueRow> = {}): CatalogueRow[] {
  return items.map((it) => (typeof it === 'string' ? { ...common, regex: it, group, section } : { group, ...common, ...it, section }));
}

const GW = 'synapse.app.generic_worker';
const SW = 'Stream writers';
const V = '(api/v1|r0|v3|unstable)';
const R = '(r0|v3|unstable)';
const C = '^/_matrix/client/';
const F = '^/_matrix/federation/';

const generic: CatalogueRow[] = [
  ...block('sync', `${GW} > Sync requests`, [
    `${C}(r0|v3)/sync$`,
    `${C}(api/v1|r0|v3)/events$`,
    `${C}(api/v1|r0|v3)/initialSync$`,
    `${C}(api/v1|r0|v3)/rooms/[^/]+/initialSync$`,
  ]),
  ...block('federation', `${GW} > Federation requests`, [
    `${F}v1/event/`,
    `${F}v1/state/`,
    `${F}v1/state_ids/`,
    `${F}v1/backfill/`,
    `${F}v1/get_missing_events/`,
    `${F}v1/publicRooms`,
    `${F}v1/query/`,
    `${F}v1/make_join/`,
    `${F}v1/make_leave/`,
    `${F}(v1|v2)/send_join/`,
    `${F}(v1|v2)/send_leave/`,
    `${F}(v1|v2)/invite/`,
    `${F}v1/event_auth/`,
    `${F}v1/timestamp_to_event/`,
    `${F}v1/exchange_third_party_invite/`,
    `${F}v1/user/devices/`,
    '^/_matrix/key/v2/query',
    `${F}v1/hierarchy/`,
  ]),
  ...block('federation_transaction', `${GW} > Inbound federation transaction request`, [`${F}v1/send/`]),
  ...block('client', `${GW} > Client API requests`, [
    `${C}${V}/createRoom$`,
    `${C}${V}/publicRooms$`,
    `${C}${V}/rooms/.*/joined_members$`,
    `${C}${V}/rooms/.*/context/.*$`,
    `${C}${V}/rooms/.*/members$`,
    `${C}${V}/rooms/.*/state$`,
    `${C}v1/rooms/.*/hierarchy$`,
    `${C}(v1|unstable)/rooms/.*/relations/`,
    `${C}v1/rooms/.*/threads$`,
    `${C}unstable/im.nheko.summary/rooms/.*/summary$`,
    `${C}${R}/account/3pid$`,
    `${C}${R}/account/whoami$`,
    `${C}${R}/devices$`,
    `${C}versions$`,
    `${C}${V}/voip/turnServer$`,
    `${C}${V}/rooms/.*/event/`,
    `${C}${V}/joined_rooms$`,
    `${C}v1/rooms/.*/timestamp_to_event$`,
    `${C}(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases`,
    `${C}${V}/search$`,
    `${C}${R}/user/.*/filter(/|$)`,
    `${C}${V}/directory/room/.*$`,
    `${C}${R}/capabilities$`,
  ]),
  ...block('encryption', `${GW} > Encryption requests`, [
    `${C}${R}/keys/query$`,
    `${C}${R}/keys/changes$`,
    `${C}${R}/keys/claim$`,
    `${C}${R}/room_keys/`,
    { regex: `${C}${R}/keys/upload/`, note: 'the trailing slash never matched a real request' },
  ]),
  ...block('registration', `${GW} > Registration/login requests`, [
    `${C}${V}/login$`,
    `${C}${R}/register$`,
    `${C}${R}/register/available$`,
    `${C}v1/register/m.login.registration_token/validity$`,
    `${C}${R}/password_policy$`,
  ]),
  ...block('event_sending', `${GW} > Event sending requests`, [
    `${C}${V}/rooms/.*/redact`,
    `${C}${V}/rooms/.*/send`,
    `${C}${V}/rooms/.*/state/`,
    `${C}${V}/rooms/.*/(join|invite|leave|ban|unban|kick)$`,
    `${C}${V}/join/`,
    `${C}${V}/knock/`,
    `${C}${V}/profile/`,
  ]),
  ...block('account_data', `${GW} > Account data requests`, [`${C}${R}/.*/tags`, `${C}${R}/.*/account_data`]),
  ...block('receipts', `${GW} > Receipts requests`, [`${C}${R}/rooms/.*/receipt`, `${C}${R}/rooms/.*/read_markers`]),
  ...block('presence', `${GW} > Presence requests`, [`${C}${V}/presence/`]),
  ...block('user_directory', `${GW} > User directory search requests`, [`${C}${R}/user_directory/search$`]),
  ...block('push_rules', `${GW} > GET requests`, [`${C}${V}/pushrules/`], { methods: ['GET'] }),
  ...block('pagination', `${GW} > Pagination requests`, [`${C}${V}/rooms/.*/messages$`]),
  ...block('sso', `${GW} > SSO requests > for all SSO providers`, [
    `${C}${V}/login/sso/redirect`,
    '^/_synapse/client/pick_idp$',
    '^/_synapse/client/pick_username',
    '^/_synapse/client/new_user_consent$',
    '^/_synapse/client/sso_register$',
  ]),
  ...block('sso_oidc', `${GW} > SSO requests > OpenID Connect requests`, ['^/_synapse/client/oidc/callback$']),
  ...block('sso_saml', `${GW} > SSO requests > SAML requests`, ['^/_synapse/client/saml2/authn_response$']),
  ...block('sso_cas', `${GW} > SSO requests > CAS requests`, [`${C}${V}/login/cas/ticket$`]),
];

const streams: CatalogueRow[] = [
  ...block('typing', `${SW} > The typing stream`, [`${C}${V}/rooms/.*/typing`]),
  ...block('to_device', `${SW} > The to_device stream`, [`${C}${R}/sendToDevice/`]),
  ...block('account_data', `${SW} > The account_data stream`, [`${C}${R}/.*/tags`, `${C}${R}/.*/account_data`]),
  ...block('receipts', `${SW} > The receipts stream`, [`${C}${R}/rooms/.*/receipt`, `${C}${R}/rooms/.*/read_markers`]),
  ...block('presence', `${SW} > The presence stream`, [`${C}${V}/presence/`]),
];

const others: CatalogueRow[] = [
  ...block('user_directory', 'Updating the User Directory', [`${C}${R}/user_directory/search$`]),
  ...block('media', 'synapse.app.media_repository', [{ regex: '^/_matrix/media/', docText: '/_matrix/media/', note: 'the docs give the prefix unanchored' }]),
  ...block('media_admin', 'synapse.app.media_repository', [
    '^/_synapse/admin/v1/purge_media_cache$',
    '^/_synapse/admin/v1/room/.*/media.*$',
    '^/_synapse/admin/v1/user/.*/media.*$',
    '^/_synapse/admin/v1/media/.*$',
    '^/_synapse/admin/v1/quarantine_media/.*$',
    '^/_synapse/admin/v1/users/.*/media$',
  ]),
  ...block('user_directory', 'synapse.app.user_dir', [`${C}${R}/user_directory/search$`]),
];

/** Served by workers though no release's docs list them (issue 4 point 2). */
const undocumented: CatalogueRow[] = [
  ...block('sliding_sync', `${GW} > Sync requests (not in docs)`, [
    { regex: `${C}unstable/org.matrix.simplified_msc3575/sync$`, note: 'not in docs' },
  ]),
];

/** All rows, in document order (undocumented endpoints last). */
export const ROWS: readonly CatalogueRow[] = Object.freeze([...generic, ...streams, ...others, ...undocumented]);
