/**
 * Request hygiene before routing (issue 3, point 7). The request parser (gateway/http1-request.ts)
 * already rejects request smuggling shapes: Content-Length with Transfer-Encoding, duplicate
 * Content-Length, obsolete line folding, control bytes in the request line, and turns http(s)
 * absolute-form targets into origin-form. This module adds the checks on the target itself:
 * dot-segments (RFC 3986 section 5.2.4, also percent-encoded as `%2e`), percent-encoded control
 * bytes, and targets in any other form (asterisk, authority, other schemes).
 */

/** True when `c` is an ASCII hex digit. */
function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** True when the `%` at `i` encodes a dot (`%2e`). */
function encodedDot(url: string, i: number): boolean {
  return url.charCodeAt(i + 1) === 50 && (url.charCodeAt(i + 2) | 32) === 101;
}

/** True when the `%` at `i` encodes a control byte (`%00`-`%1f`, `%7f`). */
function encodedControl(url: string, i: number): boolean {
  const h1 = url.charCodeAt(i + 1);
  const h2 = url.charCodeAt(i + 2);
  return ((h1 === 48 || h1 === 49) && isHex(h2)) || (h1 === 55 && (h2 | 32) === 102);
}

/** True when the path `url[0, end)` has a `.` or `..` segment (dots possibly written `%2e`). */
function hasDotSegment(url: string, end: number): boolean {
  let dots = 0;
  let other = false;
  for (let i = 1; i <= end; i++) {
    const c = i === end ? 47 : url.charCodeAt(i);
    if (c === 47) {
      if (dots > 0 && dots <= 2 && !other) return true;
      dots = 0;
      other = false;
    } else if (c === 46) {
      dots++;
    } else if (c === 37 && encodedDot(url, i)) {
      dots++;
      i += 2;
    } else {
      other = true;
    }
  }
  return false;
}

/**
 * Why a request target must be refused with 400, or null when it is acceptable: it must be an
 * absolute path without dot-segments (`.`/`..`, dots possibly `%2e`) or percent-encoded control
 * bytes. Raw control bytes, spaces and DEL never get here: the parser rejects them in the request line.
 * It runs on every request, so the common case costs two native `indexOf` scans.
 */
export function badTarget(url: string): string | null {
  if (url.charCodeAt(0) !== 47) return 'the request target must be an absolute path';
  const q = url.indexOf('?');
  const end = q < 0 ? url.length : q;
  const slashDot = url.indexOf('/.');
  let pct = url.indexOf('%');
  if ((slashDot < 0 || slashDot >= end) && (pct < 0 || pct >= end)) return null;
  let maybeDots = slashDot >= 0 && slashDot < end;
  for (; pct >= 0 && pct < end; pct = url.indexOf('%', pct + 1)) {
    if (encodedControl(url, pct)) return 'encoded control bytes in the request path';
    if (encodedDot(url, pct)) maybeDots = true;
  }
  return maybeDots && hasDotSegment(url, end) ? 'dot-segments in the request path' : null;
}
