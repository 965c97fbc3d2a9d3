/**
 * The versioned endpoint table: every endpoint regex listed in docs/workers.md of the Synapse
 * releases in SYNAPSE_VERSIONS, each row with the document section it came from and the
 * releases that list it (`since` = first release listing it, `until` = first release no longer
 * listing it). This file holds the stream writer, media repository and user directory lists and
 * the endpoints workers serve that the docs omit; data-generic.ts the generic worker's lists.
 */
import { block, C, GW, R, SW, V } from './block.ts';
import { GENERIC_WORKER_ROWS, TYPO_1135 } from './data-generic.ts';
import type { CatalogueRow } from './types.ts';

const streamWriters: CatalogueRow[] = [
  ...block('typing', `${SW} > The typing stream`, [
    `${C}${V}/rooms/.*/typing`,
  ]),
  ...block('to_device', `${SW} > The to_device stream`, [
    `${C}${R}/sendToDevice/`,
  ]),
  ...block('account_data', `${SW} > The account_data stream`, [
    `${C}${R}/.*/tags`,
    `${C}${R}/.*/account_data`,
  ]),
  ...block('receipts', `${SW} > The receipts stream`, [
    `${C}${R}/rooms/.*/receipt`,
    `${C}${R}/rooms/.*/read_markers`,
  ]),
  ...block('presence', `${SW} > The presence stream`, [
    `${C}${V}/presence/`,
  ]),
  ...block('push_rules_writer', `${SW} > The push_rules stream`, [
    { regex: `${C}${V}/pushrules/`, since: '1.105' },
  ]),
  ...block('device_lists', `${SW} > The device_lists stream`, [
    `${C}(r0|v3)/delete_devices$`,
    { regex: `${C}${V}/devices/`, until: '1.136' },
    { regex: `${C}${V}/devices(/|$)`, since: '1.136' },
    `${C}${R}/keys/upload`,
    { regex: `${C}${V}/keys/device_signing/upload$`, until: '1.136', docText: `${C}(api/v1|r0|v3|unstable/keys/device_signing/upload$`, note: TYPO_1135 },
    { regex: `${C}${V}/keys/device_signing/upload$`, since: '1.136' },
    `${C}${V}/keys/signatures/upload$`,
  ], { since: '1.135' }),
  ...block('quarantined_media_changes', `${SW} > The quarantined_media_changes stream`, [
    { regex: '^/_synapse/admin/v1/quarantine_media/.*$', since: '1.152' },
  ]),
];

const others: CatalogueRow[] = [
  ...block('user_directory', 'Updating the User Directory', [
    `${C}${R}/user_directory/search$`,
  ]),
  ...block('media', 'synapse.app.media_repository', [
    { regex: '^/_matrix/media/', docText: '/_matrix/media/' },
    { regex: '^/_matrix/client/v1/media/', docText: '/_matrix/client/v1/media/', since: '1.111' },
    { regex: '^/_matrix/federation/v1/media/', docText: '/_matrix/federation/v1/media/', since: '1.111' },
  ], { note: 'the docs give this prefix unanchored' }),
  ...block('media_admin', 'synapse.app.media_repository', [
    '^/_synapse/admin/v1/purge_media_cache$',
    '^/_synapse/admin/v1/room/.*/media.*$',
    '^/_synapse/admin/v1/user/.*/media.*$',
    '^/_synapse/admin/v1/media/.*$',
    '^/_synapse/admin/v1/quarantine_media/.*$',
    '^/_synapse/admin/v1/users/.*/media$',
  ]),
  ...block('user_directory', 'synapse.app.user_dir', [
    `${C}${R}/user_directory/search$`,
  ]),];

/**
 * Served by workers though no release's docs list them (issue 4 point 2). Sliding sync
 * (MSC4186, `simplified_msc3575`) is registered by sync.py on every worker with the client
 * resource: from 1.110 behind `experimental_features.msc3575_enabled`, unconditionally from 1.114.
 */
const undocumented: CatalogueRow[] = [
  ...block('sliding_sync', `${GW} > Sync requests (not in docs)`, [
    { regex: `${C}unstable/org.matrix.simplified_msc3575/sync$`, since: '1.110', note: 'not in docs' },
  ]),
];

/** All rows, in document order (undocumented endpoints last). */
export const ROWS: readonly CatalogueRow[] = Object.freeze([...GENERIC_WORKER_ROWS, ...streamWriters, ...others, ...undocumented]);
