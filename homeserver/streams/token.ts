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
  if (!TOKEN_RE.test(v)) return undefined;
  const parts = v.slice(1).split('_');
  if (parts.length > TOKEN_ORDER.length) return undefined;
  const n = (i: number) => (parts[i] === undefined ? 0 : Number(parts[i]));
  return { events: n(0), typing: n(1), receipts: n(2), to_device: n(3), account_data: n(4), presence: n(5), device_lists: n(6) };
}

const TOKEN_RE = /^s\d+(?:_\d+)*$/;

/** The current safe token of this process. */
export function currentToken(p: StreamPositions): StreamToken {
  return {
    events: p.safe('events'), typing: p.safe('typing'), receipts: p.safe('receipts'), to_device: p.safe('to_device'),
    account_data: p.safe('account_data'), presence: p.safe('presence'), device_lists: p.safe('device_lists'),
  };
}

/** Whether any stream of `b` is ahead of `a`. */
export function isAhead(b: StreamToken, a: StreamToken): boolean {
  return TOKEN_ORDER.some((s) => b[s] > a[s]);
}
