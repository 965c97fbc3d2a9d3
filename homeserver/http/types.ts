/**
 * The contract between the HTTP layer and route modules (homeserver/api/<area>.ts): a route is
 * plain data — method, pattern, who may call it, whether generic workers serve it — plus a handler
 * from a per-request context to a reply. Adding an endpoint is adding one RouteDef to a module.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The authenticated caller. */
export interface Requester {
  userId: string;
  deviceId: string;
  isAdmin: boolean;
}

/** Everything a handler may read about the request. */
export interface RequestContext {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body ({} when the request had none). */
  body: Record<string, unknown>;
  /** Present when the route's auth is 'user' (and for 'optional' when a token was sent). */
  requester: Requester | undefined;
  /** Aborted when the client disconnects (long-polls stop early). */
  signal: AbortSignal;
}

/** A JSON reply. */
export interface Reply {
  status?: number;
  body: unknown;
  /** Close the connection after this reply (its request's body was left unread). */
  close?: boolean;
}

/**
 * Where a route is served. `any`: main and every generic worker (the endpoint is in docs/workers.md's
 * generic-worker lists); `main`: the main process only (a worker answers 404 M_UNRECOGNIZED, so the
 * gateway's drift check notices a mis-route); `replication`: replication listeners only.
 */
export type Placement = 'any' | 'main' | 'replication';

/** One endpoint. */
export interface RouteDef {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  auth: 'user' | 'none' | 'optional' | 'replication';
  placement: Placement;
  handler(ctx: RequestContext): Promise<Reply>;
}

/** Narrowing helper for handlers behind auth 'user'. */
export function requester(ctx: RequestContext): Requester {
  if (!ctx.requester) throw new Error('route declared auth user but has no requester');
  return ctx.requester;
}
