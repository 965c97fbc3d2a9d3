/**
 * The JSON access log and the gateway's own log lines (issue 3, point 8), both pino. The access
 * log is written asynchronously through a buffered sonic-boom destination so it stays off the hot
 * path's critical section; it can be switched off for benchmarks. Access tokens never reach a log
 * (TEAM.md security rule; issue 3 point 7): paths are logged with token-bearing query parameters
 * redacted, and no header is ever logged.
 */
import pino, { type Logger } from 'pino';

/** Query parameters whose values are credentials (Matrix client-server API: access_token; SSO loginToken). */
const SECRET_PARAMS = /([?&;](?:access_token|loginToken|login_token|token)=)[^&;#]*/gi;

/** The request target with credential query parameters replaced by `<redacted>`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  // Cheap pre-check: almost every URL has no token parameter.
  if (!/token/i.test(url.slice(q))) return url;
  return url.slice(0, q) + url.slice(q).replace(SECRET_PARAMS, '$1<redacted>');
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
