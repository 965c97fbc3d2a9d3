/**
 * Types of the endpoint catalogue: which request paths a Synapse worker can serve, as the
 * worker documentation (docs/workers.md) lists them, grouped as that document groups them.
 */

/**
 * Endpoint groups. Each is one list of the worker documentation; see README.md for the
 * mapping from document section to group. Groups beyond the seed document (1.89–1.92):
 * `push_rules_writer` and `device_lists` (stream writers added later), `sliding_sync` (served by
 * sync workers though the docs never list it), `delayed_events` (MSC4140, 1.116+),
 * `admin_api` (admin endpoints on generic workers, 1.130+), `msc3861_admin` (admin endpoints
 * workers serve only when MSC3861 / MAS is enabled, 1.130–1.156), `quarantined_media_changes`
 * (stream writer, 1.152+). `user_directory` also covers the `update_user_directory_from_worker`
 * and legacy `synapse.app.user_dir` sections.
 */
export type GroupName =
  | 'sync'
  | 'federation'
  | 'federation_transaction'
  | 'client'
  | 'encryption'
  | 'registration'
  | 'event_sending'
  | 'account_data'
  | 'receipts'
  | 'presence'
  | 'typing'
  | 'to_device'
  | 'pagination'
  | 'sso'
  | 'sso_oidc'
  | 'sso_saml'
  | 'sso_cas'
  | 'user_directory'
  | 'push_rules'
  | 'media'
  | 'media_admin'
  | 'push_rules_writer'
  | 'device_lists'
  | 'sliding_sync'
  | 'delayed_events'
  | 'admin_api'
  | 'msc3861_admin'
  | 'quarantined_media_changes';

/** Every group name, in the order the documentation introduces them. */
export const GROUP_NAMES: readonly GroupName[] = Object.freeze([
  'sync',
  'federation',
  'federation_transaction',
  'client',
  'encryption',
  'registration',
  'event_sending',
  'account_data',
  'receipts',
  'presence',
  'user_directory',
  'push_rules',
  'delayed_events',
  'admin_api',
  'pagination',
  'sso',
  'sso_oidc',
  'sso_saml',
  'sso_cas',
  'msc3861_admin',
  'typing',
  'to_device',
  'push_rules_writer',
  'device_lists',
  'quarantined_media_changes',
  'media',
  'media_admin',
  'sliding_sync',
] as const);

/** One endpoint regex of one section of the worker documentation. */
export interface CatalogueEntry {
  /** ECMAScript regex source; the document's text (see `docText` for the rare exceptions). */
  readonly regex: string;
  readonly group: GroupName;
  /** The document section it came from, e.g. 'Stream writers > The typing stream'. */
  readonly section: string;
  /** Method restriction (e.g. ['GET'] for push rules on generic workers); absent = any method. */
  readonly methods?: readonly string[];
  /** A known quirk, or the release that changed it. */
  readonly note?: string;
  /**
   * The document's literal text when `regex` differs from it: an unanchored prefix
   * (`/_matrix/media/` becomes `^/_matrix/media/`) or a typo that does not compile.
   */
  readonly docText?: string;
}

/** The endpoint list of one Synapse release. */
export interface Catalogue {
  /** Synapse release, 'MAJOR.MINOR' (e.g. '1.92'). */
  readonly version: string;
  /** Every entry, in document order. A regex may appear in several sections. */
  readonly entries: readonly CatalogueEntry[];
  /** Groups that have at least one entry in this release. */
  readonly groupNames: readonly GroupName[];
  /** Entries of one group; [] for a known group empty in this release, undefined for an unknown name. */
  group(name: string): readonly CatalogueEntry[] | undefined;
}

/**
 * A row of the versioned table: an entry plus the releases it was listed in. `since` is the
 * first release whose docs list it, `until` the first release whose docs no longer do
 * (both 'MAJOR.MINOR'; absent = since the oldest / still listed).
 */
export interface CatalogueRow extends CatalogueEntry {
  readonly since?: string;
  readonly until?: string;
}
