/**
 * The generic worker's endpoint lists (docs/workers.md, section `synapse.app.generic_worker`),
 * for every release in SYNAPSE_VERSIONS. Each row's `since` is the first release whose docs list
 * it and `until` the first release whose docs no longer do; both were read from the docs/workers.md
 * of each release tag (v1.67.0 … newest). Regexes are the document's text: data, not code.
 */
import { block, C, F, GW, R, V } from './block.ts';
import type { CatalogueRow } from './types.ts';

const GET_ONLY_1122 = 'all methods on workers until 1.122, GET only from 1.122';
const WRITER_ONLY_1122 = 'from 1.122 listed only for the receipts stream writer';
/** Shared with data.ts: the device_signing regex of 1.135's docs lacks a closing parenthesis. */
export const TYPO_1135 = "the docs' text misses a ')' and does not compile; regex corrected; fixed in the docs in 1.136";

/** Generic worker rows in document order. */
export const GENERIC_WORKER_ROWS: readonly CatalogueRow[] = [
  ...block('sync', `${GW} > Sync requests`, [
    `${C}(r0|v3)/sync$`,
    `${C}(api/v1|r0|v3)/events$`,
    `${C}(api/v1|r0|v3)/initialSync$`,
    `${C}(api/v1|r0|v3)/rooms/[^/]+/initialSync$`,
  ]),
  ...block('federation', `${GW} > Federation requests`, [
    { regex: `${F}v1/version$`, since: '1.130' },
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
    { regex: `${F}v1/make_knock/`, since: '1.108' },
    { regex: `${F}v1/send_knock/`, since: '1.108' },
    `${F}(v1|v2)/invite/`,
    `${F}v1/event_auth/`,
    { regex: `${F}v1/timestamp_to_event/`, since: '1.73' },
    `${F}v1/exchange_third_party_invite/`,
    `${F}v1/user/devices/`,
    '^/_matrix/key/v2/query',
    `${F}v1/hierarchy/`,
  ]),
  ...block('federation_transaction', `${GW} > Inbound federation transaction request`, [
    `${F}v1/send/`,
  ]),
  ...block('client', `${GW} > Client API requests`, [
    `${C}${V}/createRoom$`,
    `${C}${V}/publicRooms$`,
    `${C}${V}/rooms/.*/joined_members$`,
    `${C}${V}/rooms/.*/context/.*$`,
    `${C}${V}/rooms/.*/members$`,
    `${C}${V}/rooms/.*/state$`,
    `${C}v1/rooms/.*/hierarchy$`,
    { regex: `${C}(v1|unstable)/rooms/.*/relations/`, since: '1.70' },
    { regex: `${C}v1/rooms/.*/threads$`, since: '1.70' },
    { regex: `${C}unstable/org.matrix.msc2716/rooms/.*/batch_send$`, until: '1.87' },
    { regex: `${C}unstable/im.nheko.summary/rooms/.*/summary$`, until: '1.107' },
    { regex: `${C}unstable/im.nheko.summary/summary/.*$`, since: '1.107' },
    { regex: `${C}v1/room_summary/.*$`, since: '1.156' },
    `${C}${R}/account/3pid$`,
    `${C}${R}/account/whoami$`,
    { regex: `${C}${R}/devices$`, until: '1.135' },
    { regex: `${C}${R}/account/deactivate$`, since: '1.135' },
    { regex: `${C}(r0|v3)/delete_devices$`, since: '1.135' },
    { regex: `${C}${V}/devices(/|$)`, since: '1.135' },
    `${C}versions$`,
    `${C}${V}/voip/turnServer$`,
    `${C}${V}/rooms/.*/event/`,
    `${C}${V}/joined_rooms$`,
    { regex: `${C}v1/rooms/.*/timestamp_to_event$`, since: '1.73' },
    { regex: `${C}(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases`, since: '1.80' },
    `${C}${V}/search$`,
    { regex: `${C}${R}/user/.*/filter(/|$)`, since: '1.79' },
    { regex: `${C}${V}/directory/room/.*$`, since: '1.82' },
    { regex: `${C}${R}/capabilities$`, since: '1.82' },
    { regex: `${C}${R}/notifications$`, since: '1.93' },
  ]),
  ...block('admin_api', `${GW} > Client API requests`, [
    { regex: '^/_synapse/admin/v1/rooms/', since: '1.130', until: '1.138' },
    { regex: '^/_synapse/admin/v1/rooms/[^/]+$', since: '1.138', until: '1.145' },
  ], { note: 'an admin API listed among the Client API requests until 1.145' }),
  ...block('admin_api', `${GW} > Admin API requests`, [{ regex: '^/_synapse/admin/v1/rooms/[^/]+$', since: '1.145' }]),
  ...block('encryption', `${GW} > Encryption requests`, [
    `${C}${R}/keys/query$`,
    `${C}${R}/keys/changes$`,
    `${C}${R}/keys/claim$`,
    `${C}${R}/room_keys/`,
    { regex: `${C}${R}/keys/upload/`, until: '1.127', note: 'the trailing slash never matches a real keys/upload request; fixed in 1.127' },
    { regex: `${C}${R}/keys/upload$`, since: '1.127', until: '1.135' },
    { regex: `${C}${R}/keys/upload`, since: '1.135' },
    { regex: `${C}${V}/keys/device_signing/upload$`, since: '1.135', until: '1.136', docText: `${C}(api/v1|r0|v3|unstable/keys/device_signing/upload$`, note: TYPO_1135 },
    { regex: `${C}${V}/keys/device_signing/upload$`, since: '1.136' },
    { regex: `${C}${V}/keys/signatures/upload$`, since: '1.135' },
  ]),
  ...block('registration', `${GW} > Registration/login requests`, [
    `${C}${V}/login$`,
    `${C}${R}/register$`,
    { regex: `${C}${R}/register/available$`, since: '1.80' },
    `${C}v1/register/m.login.registration_token/validity$`,
    { regex: `${C}${R}/password_policy$`, since: '1.81' },
  ]),
  ...block('event_sending', `${GW} > Event sending requests`, [
    `${C}${V}/rooms/.*/redact`,
    `${C}${V}/rooms/.*/send`,
    `${C}${V}/rooms/.*/state/`,
    `${C}${V}/rooms/.*/(join|invite|leave|ban|unban|kick)$`,
    `${C}${V}/join/`,
    { regex: `${C}${V}/knock/`, since: '1.79' },
    `${C}${V}/profile/`,
  ]),
  ...block('account_data', `${GW} > Account data requests`, [
    { regex: `${C}${R}/.*/tags`, until: '1.122', note: GET_ONLY_1122 },
    { regex: `${C}${R}/.*/account_data`, until: '1.122', note: GET_ONLY_1122 },
  ]),
  ...block('receipts', `${GW} > Receipts requests`, [
    { regex: `${C}${R}/rooms/.*/receipt`, until: '1.122', note: WRITER_ONLY_1122 },
    { regex: `${C}${R}/rooms/.*/read_markers`, until: '1.122', note: WRITER_ONLY_1122 },
  ]),
  ...block('presence', `${GW} > Presence requests`, [
    { regex: `${C}${V}/presence/`, until: '1.122', note: GET_ONLY_1122 },
  ]),
  ...block('user_directory', `${GW} > User directory search requests`, [
    `${C}${R}/user_directory/search$`,
  ]),
  ...block('delayed_events', `${GW} > Unstable MSC4140 support`, [
    { regex: `${C}unstable/org.matrix.msc4140/delayed_events(/.*/restart)?$`, since: '1.144' },
  ]),
  ...block('push_rules', `${GW} > GET requests`, [
    { regex: `${C}${V}/pushrules/`, methods: ['GET'] },
  ]),
  ...block('delayed_events', `${GW} > GET requests`, [
    { regex: `${C}unstable/org.matrix.msc4140/delayed_events`, since: '1.116', until: '1.144', methods: ['GET'] },
  ]),
  ...block('client', `${GW} > GET requests`, [
    { regex: `${C}${V}/devices/`, since: '1.130', until: '1.135', methods: ['GET'] },
  ]),
  ...block('account_data', `${GW} > GET requests`, [
    { regex: `${C}${R}/.*/tags`, since: '1.122', methods: ['GET'] },
    { regex: `${C}${R}/.*/account_data`, since: '1.122', methods: ['GET'] },
  ]),
  ...block('presence', `${GW} > GET requests`, [
    { regex: `${C}${V}/presence/`, since: '1.122', methods: ['GET'] },
  ]),
  ...block('admin_api', `${GW} > GET requests`, [
    { regex: '^/_synapse/admin/v2/users/[^/]+$', since: '1.145', methods: ['GET'] },
  ]),
  ...block('pagination', `${GW} > Pagination requests`, [
    `${C}${V}/rooms/.*/messages$`,
  ]),
  ...block('sso', `${GW} > SSO requests > for all SSO providers`, [
    `${C}${V}/login/sso/redirect`,
    '^/_synapse/client/pick_idp$',
    '^/_synapse/client/pick_username',
    '^/_synapse/client/new_user_consent$',
    '^/_synapse/client/sso_register$',
  ]),
  ...block('sso_oidc', `${GW} > SSO requests > OpenID Connect requests`, [
    '^/_synapse/client/oidc/callback$',
  ]),
  ...block('sso_saml', `${GW} > SSO requests > SAML requests`, [
    '^/_synapse/client/saml2/authn_response$',
  ]),
  ...block('sso_cas', `${GW} > SSO requests > CAS requests`, [
    `${C}${V}/login/cas/ticket$`,
  ]),
  ...block('msc3861_admin', `${GW} > MSC3861 requests`, [
    { regex: '^/_synapse/admin/v2/users/[^/]+$', since: '1.130', until: '1.157' },
    { regex: '^/_synapse/admin/v1/username_available$', since: '1.130', until: '1.157' },
    { regex: '^/_synapse/admin/v1/users/[^/]+/_allow_cross_signing_replacement_without_uia$', since: '1.130', until: '1.157' },
    { regex: '^/_synapse/admin/v1/users/[^/]+/devices$', since: '1.130', until: '1.135', methods: ['GET'] },
    { regex: '^/_synapse/admin/v1/users/[^/]+/devices$', since: '1.135', until: '1.157' },
  ], { note: 'only when experimental_features.msc3861.enabled (MAS)' }),];
