/**
 * Request hygiene before routing (issue 3, point 7). node:http's llhttp parser (strict mode;
 * `insecureHTTPParser` stays off) already rejects request smuggling shapes: Content-Length with
 * Transfer-Encoding, differing duplicate Content-Length, obsolete line folding, control bytes in
 * the request line. This module adds what llhttp lets through: dot-segments (RFC 3986 section
 * 5.2.4, also percent-encoded as `%2e`), percent-encoded control bytes and non-origin-form targets,
 * and it answers parser errors with a Matrix error body instead of node's bare 400.
 */
import type { Socket } from 'node:net';
import { matrixErrorBody } from './errors.ts';

const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;
const ENCODED_CONTROL = /%(?:[01][0-9a-f]|7f)/i;

/** Why a request target must be refused with 400, or null when it is acceptable. */
export function badTarget(url: string): string | null {
  if (url.charCodeAt(0) !== 47) return 'the request target must be an absolute path';
  let suspicious = false;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c <= 32 || c === 127) return 'control bytes in the request target';
    if (c === 46 || c === 37) suspicious = true; // '.' or '%'
  }
  if (!suspicious) return null;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (DOT_SEGMENT.test(path)) return 'dot-segments in the request path';
  if (ENCODED_CONTROL.test(path)) return 'encoded control bytes in the request path';
  return null;
}

/** Sum of header name and value lengths (per-route `limits.max_header`). */
export function headerBytes(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) n += raw[i]!.length + 2;
  return n;
}

/**
 * node:http 'clientError' handler: 431 for oversized headers, 400 for everything else the parser
 * refused (smuggling attempts included), always closing the connection.
 */
export function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
  const body = matrixErrorBody(status, status === 431 ? 'request headers too large' : status === 408 ? 'request timed out' : 'malformed request');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroySoon();
}
