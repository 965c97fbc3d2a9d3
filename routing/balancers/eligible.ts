/**
 * The one question every balancer asks of a server (STYLE.md "health lives on the server
 * object"): may this request go there now?
 */
import type { ServerState } from '../types.ts';

/** Usable: health checks admit it, it is not administratively down, and this request has not tried it yet. */
export function usable(s: ServerState, exclude: ReadonlySet<ServerState> | undefined): boolean {
  return s.available && !s.down && (exclude === undefined || !exclude.has(s));
}

/** Keyed policies treat an empty key like a missing one (nginx: an empty hash key means round robin). */
export function missingKey(key: string | null): key is null | '' {
  return key === null || key === '';
}
