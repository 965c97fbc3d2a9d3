/**
 * The data plane's error module: every way a proxied exchange can fail has a stable code, and one
 * function (`statusFor`) maps codes to the HTTP status the client sees, as Caddy's reverse proxy
 * does (issue 3, point 4: 502 upstream failure, 503 no server, 504 timeout). Bodies are Matrix
 * errors (client-server API spec, "Standard error response").
 */
import type { ClientResponse } from './client-message.ts';

/** Stable error codes of the data plane. */
export type ProxyErrorCode =
  | 'connect_failed'
  | 'connect_timeout'
  | 'upstream_reset'
  | 'bad_response'
  | 'first_byte_timeout'
  | 'idle_timeout'
  | 'no_server'
  | 'client_aborted'
  | 'body_too_large'
  | 'bad_request'
  | 'replication_denied'
  | 'admin_denied'
  | 'draining';

/** A failure of one proxied exchange; `code` decides the status. */
export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  constructor(code: ProxyErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** True when the request never reached the upstream, so a retry cannot duplicate it. */
export function isConnectFailure(err: ProxyError): boolean {
  return err.code === 'connect_failed' || err.code === 'connect_timeout';
}

/** The one mapping from error code to HTTP status (499 = client went away, nothing is sent). */
export function statusFor(code: ProxyErrorCode): number {
  switch (code) {
    case 'connect_failed':
    case 'upstream_reset':
    case 'bad_response':
      return 502;
    case 'no_server':
    case 'draining':
      return 503;
    case 'connect_timeout':
    case 'first_byte_timeout':
    case 'idle_timeout':
      return 504;
    case 'client_aborted':
      return 499;
    case 'body_too_large':
      return 413;
    case 'bad_request':
      return 400;
    case 'replication_denied':
      return 404;
    case 'admin_denied':
      return 403;
  }
}

/** Matrix errcode for a status: M_NOT_FOUND / M_FORBIDDEN / M_TOO_LARGE where the spec has one. */
function errcodeFor(status: number): string {
  if (status === 404) return 'M_NOT_FOUND';
  if (status === 403) return 'M_FORBIDDEN';
  if (status === 413) return 'M_TOO_LARGE';
  return 'M_UNKNOWN';
}

/** The JSON body of an error answer: `{"errcode": "M_…", "error": "…"}`. */
export function matrixErrorBody(status: number, message: string): string {
  return JSON.stringify({ errcode: errcodeFor(status), error: message });
}

/** Maps a socket error to a data-plane error code. */
export function codeForSocketError(err: NodeJS.ErrnoException, connected: boolean): ProxyErrorCode {
  if (!connected) return 'connect_failed';
  return err.code === 'ECONNREFUSED' ? 'connect_failed' : 'upstream_reset';
}

/** Writes a Matrix error answer (`{"errcode": …, "error": …}`). */
export function sendError(res: ClientResponse, status: number, message: string): void {
  const body = matrixErrorBody(status, message);
  res.writeHead(status, ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(body))]);
  res.end(body);
}
