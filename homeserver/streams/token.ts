/**
 * Sync tokens: one position per stream, written like Synapse's StreamToken
 * (`s<events>_<typing>_<receipts>_<to_device>_<account_data>_<presence>_<device_lists>`). Every
 * position is a stream's safe position (min over writers), never a single writer's, so a token
 * never passes an event another writer has yet to commit. `s<n>` alone is an events position
 * (pagination tokens), the other streams then being 0.
 */
import type { StreamName } from '../config/deployment.ts';
import type { StreamPositions } from './positions.ts';

/** The streams in token order. */
export const TOKEN_ORDER: readonly StreamName[] = ['events', 'typing', 'receipts', 'to_device', 'account_data', 'presence', 'device_lists'];

export type StreamToken = Record<StreamName, number>;

export function formatStreamToken(t: StreamToken): string {
  return `s${TOKEN_ORDER.map((s) => t[s]).join('_')}`;
}

/** Parses a token; undefined when malformed. */
export function parseStreamToken(v: string): StreamToken | undefined {
  const m = /^s(\d+(?:_\d+)*)$/.exec(v);
  if (!m) return undefined;
  const parts = m[1]!.split('_').map(Number);
  if (parts.length > TOKEN_ORDER.length) return undefined;
  return Object.fromEntries(TOKEN_ORDER.map((s, i) => [s, parts[i] ?? 0])) as StreamToken;
}

/** The current safe token of this process. */
export function currentToken(p: StreamPositions): StreamToken {
  return Object.fromEntries(TOKEN_ORDER.map((s) => [s, p.safe(s)])) as StreamToken;
}

/** Whether any stream of `b` is ahead of `a`. */
export function isAhead(b: StreamToken, a: StreamToken): boolean {
  return TOKEN_ORDER.some((s) => b[s] > a[s]);
}
