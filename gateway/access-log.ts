/**
 * The JSON access log and the gateway's own log lines (issue 3, point 8), both pino. The access
 * log is written asynchronously through a buffered sonic-boom destination so it stays off the hot
 * path's critical section; it can be switched off for benchmarks. Access tokens never reach a log
 * (TEAM.md security rule; issue 3 point 7): paths are logged with token-bearing query parameters
 * redacted, and no header is ever logged.
 */
import pino, { type Logger } from 'pino';

/**
 * Query parameters whose values are credentials. Synapse's own log redaction (synapse/http
 * redact_uri) covers access_token and client_secret (3pid sessions); on top of that: the SSO
 * loginToken, the email-validation token, OIDC/OAuth authorization codes (`code`, on
 * /_synapse/client/oidc/callback), CAS tickets, and any name ending in "token" or "secret"
 * (refresh_token, id_token, ...). Matched on the form-decoded name, case-insensitively.
 */
function isSecretName(decoded: string): boolean {
  const n = decoded.trim().toLowerCase();
  return n.endsWith('token') || n.endsWith('secret') || n === 'code' || n === 'ticket' || n === 'password';
}

/** A secret parameter inside decoded text (a nested URL or query): name, then `=`. */
const NESTED_SECRET = /(?:token|secret)\s*=|(?:^|[^a-z0-9_])(?:code|ticket|password)\s*=/i;

/** Cheap pre-check: a query with none of these cannot carry a secret (nothing to decode either). */
const MAYBE_SECRET = /%|token|secret|code|ticket|password/i;

const PLUS = /\+/g;
const PCT = /%([0-9a-fA-F]{2})/g;

/**
 * Decoding layers formDecode peels at most. Each layer costs one pass over the text, so a bound
 * keeps redaction linear in the URL's length (peeling `%2525...` layer by layer was quadratic: a
 * 16 KiB target took 200 ms); no client has a reason to encode a parameter more than twice.
 */
const MAX_LAYERS = 3;

/**
 * Form-decodes (`+` and %XX) until nothing changes, at most MAX_LAYERS times, so a name or value
 * encoded twice is seen as a decoding layer further on would see it; null when it would still
 * decode after that (the caller redacts such text: nothing legitimate is encoded that deep).
 * Lenient: where the escapes are not valid UTF-8, each decodes to one character (latin1) and a
 * malformed one stays as it is (like Python's unquote); the names compared are ASCII either way.
 */
function formDecode(s: string): string | null {
  for (let layer = 0; ; layer++) {
    if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
    const spaced = s.indexOf('+') < 0 ? s : s.replace(PLUS, ' ');
    let d: string;
    try {
      d = decodeURIComponent(spaced);
    } catch {
      d = spaced.replace(PCT, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
    if (d === s) return s;
    if (layer === MAX_LAYERS) return null;
    s = d;
  }
}

/**
 * The request target with credentials replaced by `<redacted>`. The query is split on `&` and
 * `;` (both separate parameters in some parsers, Twisted's included); each name is form-decoded
 * and compared (case-insensitively) with the secret names, as Synapse decodes names before
 * looking them up (`?access%5Ftoken=` is an access token). A secret's value runs to the next
 * `&` (a parser splitting on `&` only reads `;` as part of the value). A value (or name) whose
 * decoded text holds a secret parameter (`redirectUrl=https%3A%2F%2Fapp%2F%3FloginToken%3D...`)
 * is redacted whole. The path and other parameters stay as sent.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url.slice(q + 1);
  // Almost every URL has nothing to redact.
  if (!MAYBE_SECRET.test(query)) return url;
  let out = url.slice(0, q + 1);
  let i = 0;
  const n = query.length;
  while (i <= n) {
    let j = i;
    while (j < n && query.charCodeAt(j) !== 0x26 /* & */ && query.charCodeAt(j) !== 0x3b /* ; */) j++;
    const seg = query.slice(i, j);
    const eq = seg.indexOf('=');
    const name = eq < 0 ? seg : seg.slice(0, eq);
    const dname = formDecode(name);
    if (dname === null || NESTED_SECRET.test(dname)) {
      // The name itself holds a secret parameter (`access_token%3D...`): the whole pair goes.
      out += '<redacted>';
      const amp = query.indexOf('&', i);
      j = amp < 0 ? n : amp;
    } else if (eq >= 0 && isSecretName(dname)) {
      out += name + '=<redacted>';
      const amp = query.indexOf('&', i + eq + 1);
      j = amp < 0 ? n : amp;
    } else if (eq >= 0 && !isPlainValue(seg, eq + 1)) {
      out += name + '=<redacted>';
    } else {
      out += seg;
    }
    if (j < n) out += query[j];
    i = j + 1;
  }
  return out;
}

/** True when the value of `seg` from `from` on holds no secret parameter, however it is encoded. */
function isPlainValue(seg: string, from: number): boolean {
  const d = formDecode(seg.slice(from));
  return d !== null && !NESTED_SECRET.test(d);
}

/** Where the access log goes. */
export type AccessLogTarget = { kind: 'off' } | { kind: 'stdout' } | { kind: 'file'; path: string };

/** One access log entry. */
export interface AccessEntry {
  method: string;
  url: string;
  route: string;
  upstream: string;
  server: string | null;
  status: number;
  durationMs: number;
  bytes: number;
  retried: boolean;
  replayed: boolean;
  error: string | null;
}

/** Writes access entries (or nothing, when off). */
export class AccessLog {
  private readonly logger: Logger | null;
  private readonly dest: ReturnType<typeof pino.destination> | null;

  constructor(target: AccessLogTarget) {
    if (target.kind === 'off') {
      this.logger = null;
      this.dest = null;
      return;
    }
    this.dest = pino.destination({ dest: target.kind === 'file' ? target.path : 1, sync: false, minLength: 4096, mkdir: true });
    this.logger = pino({ base: undefined, messageKey: 'msg', timestamp: pino.stdTimeFunctions.isoTime }, this.dest);
  }

  get enabled(): boolean {
    return this.logger !== null;
  }

  /** Logs one finished request. */
  write(e: AccessEntry): void {
    if (this.logger === null) return;
    this.logger.info({
      method: e.method, path: redactUrl(e.url), route: e.route, upstream: e.upstream, server: e.server,
      status: e.status, duration_ms: Math.round(e.durationMs * 1000) / 1000, bytes: e.bytes,
      ...(e.retried ? { retried: true } : {}), ...(e.replayed ? { drift_replay: true } : {}), ...(e.error ? { error: e.error } : {}),
    });
  }

  /** Flushes buffered lines (before exit). */
  flush(): void {
    try {
      this.dest?.flushSync();
    } catch {
      // sonic-boom throws if nothing was opened yet; nothing to flush then.
    }
  }
}

/** The gateway's event log (startup, reloads, health transitions, drift): stderr, synchronous. */
export function eventLogger(): Logger {
  return pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}
