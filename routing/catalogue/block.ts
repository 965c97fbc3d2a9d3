/**
 * Helpers for writing the versioned endpoint table compactly: one `block` per documented list,
 * and the regex prefixes that repeat throughout docs/workers.md.
 */
import type { CatalogueRow, GroupName } from './types.ts';

/** A regex of a block: its text, or the text plus per-row facts (since/until/methods/note/docText). */
export type Item = string | (Omit<CatalogueRow, 'group' | 'section'> & { readonly group?: GroupName });

/** Rows of one documented list: one group and section, its regexes in document order. */
export function block(group: GroupName, section: string, items: readonly Item[], common: Partial<CatalogueRow> = {}): CatalogueRow[] {
  return items.map((it) => (typeof it === 'string' ? { ...common, regex: it, group, section } : { group, ...common, ...it, section }));
}

/** Section prefix of the generic worker's lists. */
export const GW = 'synapse.app.generic_worker';
/** Section prefix of the stream writer lists. */
export const SW = 'Stream writers';
/** Client-server API prefix. */
export const C = '^/_matrix/client/';
/** Server-server API prefix. */
export const F = '^/_matrix/federation/';
/** The client API versions most endpoints are listed under. */
export const V = '(api/v1|r0|v3|unstable)';
/** The client API versions of endpoints that never had an api/v1 form. */
export const R = '(r0|v3|unstable)';
