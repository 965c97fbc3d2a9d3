/**
 * Header handling for proxied exchanges (RFC 9110 section 7.6.1: a proxy removes hop-by-hop
 * fields, and any field named in `Connection`, before forwarding). The request head is built as
 * one latin1 string straight from `req.rawHeaders`, so names, values and the path go out
 * byte-for-byte as they came in (DESIGN.md: "the path matched is byte-for-byte the path
 * forwarded") and no header object is built on the hot path.
 */
import type { ClientRequest } from './client-message.ts';
import { lowerName as lower } from './http1-request.ts';

/** Lower-case hop-by-hop fields (RFC 9110 section 7.6.1) plus the ones this proxy sets itself. */
const DROP_REQUEST = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'proxy-authorization',
]);
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);


/** Names listed in a `Connection` field value (lower-case), besides keep-alive/close. */
function connectionTokens(value: string): Set<string> | null {
  let out: Set<string> | null = null;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive') continue;
    (out ??= new Set()).add(t);
  }
  return out;
}

/** What the request head needs besides the raw headers. */
export interface ForwardInfo {
  /** Client address to put in (or append to) X-Forwarded-For. */
  readonly clientIp: string;
  /** The immediate peer is a trusted proxy: keep its X-Forwarded-* and append to them. */
  readonly trustedPeer: boolean;
  /** The body is sent with chunked transfer coding (client sent chunked). */
  readonly chunked: boolean;
}

/** Builds the upstream request head: request line, forwarded fields, X-Forwarded-*. */
export function buildRequestHead(req: ClientRequest, info: ForwardInfo): string {
  const raw = req.rawHeaders;
  let head = req.method + ' ' + req.url + ' HTTP/1.1\r\n';
  let extraDrop: Set<string> | null = null;
  let xff = '';
  let proto = '';
  let fwdHost = '';
  let host = '';
  let sawHost = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lc = lower(name);
    if (!DROP_REQUEST.has(lc)) {
      if (lc === 'host') {
        host = raw[i + 1]!;
        sawHost = true;
      }
      head += name + ': ' + raw[i + 1]! + '\r\n';
      continue;
    }
    if (lc === 'connection') extraDrop = connectionTokens(raw[i + 1]!);
    else if (lc === 'x-forwarded-for') xff = xff === '' ? raw[i + 1]! : xff + ', ' + raw[i + 1]!;
    else if (lc === 'x-forwarded-proto') proto = raw[i + 1]!;
    else if (lc === 'x-forwarded-host') fwdHost = raw[i + 1]!;
  }
  if (extraDrop !== null) head = dropNamed(head, extraDrop);
  // HTTP/1.0 clients may omit Host; the forwarded HTTP/1.1 request must carry one, empty when
  // there is no authority to name (RFC 9112 section 3.2).
  if (!sawHost) head += 'Host:\r\n';
  const trusted = info.trustedPeer;
  head += 'X-Forwarded-For: ' + (trusted && xff !== '' ? xff + ', ' + info.clientIp : info.clientIp) + '\r\n';
  head += 'X-Forwarded-Proto: ' + (trusted && proto !== '' ? proto : 'http') + '\r\n';
  const xfh = trusted && fwdHost !== '' ? fwdHost : host;
  if (xfh !== '') head += 'X-Forwarded-Host: ' + xfh + '\r\n';
  if (info.chunked) head += 'Transfer-Encoding: chunked\r\n';
  return head + '\r\n';
}

/** Removes header lines whose names a `Connection` field listed (rare: only then is this paid). */
function dropNamed(head: string, names: Set<string>): string {
  const lines = head.split('\r\n');
  const kept = [lines[0]!];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const name = line.slice(0, line.indexOf(':')).toLowerCase();
    if (!names.has(name)) kept.push(line);
  }
  return kept.join('\r\n') + '\r\n';
}

/** Response fields to pass to the client: hop-by-hop fields removed (flat [name, value, ...]). */
export function filterResponseHeaders(headers: string[]): string[] {
  let extraDrop: Set<string> | null = null;
  let dropping = false;
  for (let i = 0; i < headers.length; i += 2) {
    const lc = lower(headers[i]!);
    if (DROP_RESPONSE.has(lc)) {
      dropping = true;
      if (lc === 'connection') extraDrop = connectionTokens(headers[i + 1]!);
    }
  }
  if (!dropping) return headers;
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const lc = lower(headers[i]!);
    if (DROP_RESPONSE.has(lc) || (extraDrop !== null && extraDrop.has(lc))) continue;
    out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/** The value of a header in a flat raw array (case-insensitive), or undefined. */
export function rawHeader(headers: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.length === lowerName.length && headers[i]!.toLowerCase() === lowerName) return headers[i + 1];
  }
  return undefined;
}
