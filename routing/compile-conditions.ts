/**
 * Query and header conditions of routes.yaml (`match.query`, `match.headers`), compiled into
 * predicates that run on the request hot path without parsing the whole query string.
 *
 * Query semantics follow what the Synapse worker will itself see, because a condition exists to
 * predict how the worker treats the request (e.g. `since` splitting, DESIGN.md "Policies"):
 * Synapse reads arguments through Twisted's `http.parse_qs(qs, keep_blank_values=1)` and
 * `parse_string` takes the first value. So: pairs are separated by `&` or `;`; an item without
 * `=` is dropped (`?since` means `since` is absent); names and values are form-decoded (`+` is a
 * space, `%XX` are bytes, read as UTF-8 with U+FFFD for invalid sequences); names are
 * case-sensitive (`Since=x` is not `since`, `%73ince=x` is); the first occurrence counts
 * (`since=a&since=` is non-empty). nginx's `$arg_since` differs (case-insensitive names, no `;`,
 * no decoding); routes.yaml follows Synapse.
 *
 * Header names are matched lower-cased (node:http lower-cases them); a header node:http gives as
 * an array is joined with ", ". Header values are not decoded.
 */
import type { ValueCondition } from '../config/routes-schema.ts';
import type { RouteRequest } from './types.ts';

const utf8 = new TextDecoder('utf-8');

/** Form-decodes one query name or value as Twisted does: `+` → space, then `%XX` → byte, UTF-8. */
export function formDecode(s: string): string {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 43) bytes.push(32);
    else if (c === 37 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 128) bytes.push(c);
    else {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    }
  }
  return utf8.decode(new Uint8Array(bytes));
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isSeparator(c: number): boolean {
  return c === 38 || c === 59; // & ;
}

/**
 * Where the raw value of the first `name=value` item starts (index into `query`), or -1 when no
 * item carries that name; `coded` is codedOf(req, …). Fast path: the first occurrence of
 * `name` at an item start followed by `=` is the answer unless an earlier item's name might
 * decode to `name`, which needs a `%` or `+` before it; so only when one of those appears is
 * every name decoded.
 */
function findParamFrom(query: string, name: string, coded: number): number {
  const len = name.length;
  let at = query.indexOf(name);
  while (at >= 0 && !((at === 0 || isSeparator(query.charCodeAt(at - 1))) && query.charCodeAt(at + len) === 61)) at = query.indexOf(name, at + 1);
  if (coded >= (at < 0 ? query.length : at)) return at < 0 ? -1 : at + len + 1;
  return findParamSlow(query, name);
}

/**
 * One-entry memo of the first `%` and first `;` of a request's query, keyed by the request
 * object: a route's conditions (and the next route's) ask about the same request, and comparing
 * object references is free, whereas comparing the query strings of two different requests
 * (same length is common: every client's /sync query looks alike) is a character compare.
 * Requests are immutable (RouteRequest is readonly), so the reference identifies the query.
 */
let memoReq: RouteRequest | null = null;
let memoPct = 0;
/** The memoised query's first `;`, -1 when none, -2 until semiOf first asks. */
let memoSemi = -2;

/**
 * Index of the first character of `req.query` that could make an item name decode to a name
 * with a space (`spaced`) or without: a `%` always (memoised per request object), a `+` only for
 * a spaced name (`+` decodes to a space); the query's length when none.
 */
function codedOf(req: RouteRequest, spaced: boolean): number {
  const query = req.query;
  if (req !== memoReq) {
    const pct = query.indexOf('%');
    memoPct = pct < 0 ? query.length : pct;
    memoSemi = -2;
    memoReq = req;
  }
  if (!spaced) return memoPct;
  const plus = query.indexOf('+');
  return plus < 0 ? memoPct : Math.min(memoPct, plus);
}

/** First `;` of `req.query` (-1 when none), memoised per request object. */
function semiOf(req: RouteRequest): number {
  if (req !== memoReq) codedOf(req, false);
  if (memoSemi === -2) memoSemi = req.query.indexOf(';');
  return memoSemi;
}

/** findParamFrom for queries where names may be form-encoded: decode each name that needs it. */
function findParamSlow(query: string, name: string): number {
  const n = query.length;
  let i = 0;
  while (i < n) {
    let eq = -1;
    let coded = false;
    let j = i;
    for (; j < n; j++) {
      const c = query.charCodeAt(j);
      if (isSeparator(c)) break;
      if (eq < 0) {
        if (c === 61) eq = j;
        else if (c === 37 || c === 43) coded = true;
      }
    }
    if (eq >= 0) {
      if (coded ? formDecode(query.slice(i, eq)) === name : eq - i === name.length && query.startsWith(name, i)) return eq + 1;
    }
    i = j + 1;
  }
  return -1;
}

/** End (exclusive) of the value that starts at `start`, given the query's first `;` (-1 when none): `;` is rare, so most values end at the next `&`. */
function valueEndWith(query: string, start: number, firstSemi: number): number {
  const n = query.length;
  const amp = query.indexOf('&', start);
  let end = amp < 0 ? n : amp;
  if (firstSemi >= 0 && firstSemi < end) {
    const semi = firstSemi >= start ? firstSemi : query.indexOf(';', start);
    if (semi >= 0 && semi < end) end = semi;
  }
  return end;
}

/** True when the value starting at `at` is empty (a separator or the end follows at once). */
function emptyAt(query: string, at: number): boolean {
  return at >= query.length || isSeparator(query.charCodeAt(at));
}

/** A header's value as one string (arrays joined with ", "), or undefined when absent. */
export function headerString(req: RouteRequest, lowerName: string): string | undefined {
  const v = req.headers[lowerName];
  return v === undefined ? undefined : typeof v === 'string' ? v : v.join(', ');
}

/** A compiled condition on one request. */
export type RequestPredicate = (req: RouteRequest) => boolean;

/** A compiled test of a (decoded) value against one condition; undefined means absent. */
type ValueTest = (value: string | undefined) => boolean;

/** Compiles one condition into a ValueTest (the condition's kind is settled once, here). */
function valueTest(cond: ValueCondition): ValueTest {
  switch (cond) {
    case 'present': return (v) => v !== undefined;
    case 'absent': return (v) => v === undefined;
    case 'absent_or_empty': return (v) => v === undefined || v === '';
    case 'non_empty': return (v) => v !== undefined && v !== '';
  }
  if ('equals' in cond) {
    const expected = cond.equals;
    return (v) => v === expected;
  }
  const re = new RegExp(cond.matches);
  return (v) => v !== undefined && re.test(v);
}

/** Compiles a query condition; presence tests never allocate. */
export function queryPredicate(name: string, cond: ValueCondition): RequestPredicate {
  const spaced = name.indexOf(' ') >= 0;
  // One closure per condition kind: the kind is settled here, not compared per request.
  const at = (req: RouteRequest): number => findParamFrom(req.query, name, codedOf(req, spaced));
  switch (cond) {
    case 'present': return (req) => at(req) >= 0;
    case 'absent': return (req) => at(req) < 0;
    case 'absent_or_empty': return (req) => {
      const i = at(req);
      return i < 0 || emptyAt(req.query, i);
    };
    case 'non_empty': return (req) => {
      const i = at(req);
      return i >= 0 && !emptyAt(req.query, i);
    };
  }
  if ('equals' in cond) {
    const expected = cond.equals;
    return (req) => rawEquals(req, at(req), expected);
  }
  const holds = valueTest(cond);
  return (req) => {
    const i = at(req);
    const query = req.query;
    return holds(i < 0 ? undefined : formDecode(query.slice(i, valueEndWith(query, i, semiOf(req)))));
  };
}

/** True when the value starting at `at` decodes to `expected`; compared in place when it needs no decoding. */
function rawEquals(req: RouteRequest, at: number, expected: string): boolean {
  if (at < 0) return false;
  const query = req.query;
  const end = valueEndWith(query, at, semiOf(req));
  for (let k = at; k < end; k++) {
    const c = query.charCodeAt(k);
    if (c === 37 || c === 43) return formDecode(query.slice(at, end)) === expected;
  }
  return end - at === expected.length && query.startsWith(expected, at);
}

/** Compiles a header condition (`name` is lower-cased here). */
export function headerPredicate(name: string, cond: ValueCondition): RequestPredicate {
  const lower = name.toLowerCase();
  const holds = valueTest(cond);
  return (req) => holds(headerString(req, lower));
}
