/**
 * Drift safety (issue 4, point 3): a worker that answers 404 or 405 with errcode M_UNRECOGNIZED
 * does not serve the endpoint in the Synapse version it runs (the routing table drifted from the
 * deployment), so the gateway replays the request once to the default upstream (main), which
 * serves every endpoint.
 */

/** Error bodies larger than this are not worth parsing: such an answer is not M_UNRECOGNIZED. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * A 404/405 answer held back until its body shows whether it is M_UNRECOGNIZED: at most
 * MAX_ERROR_BODY bytes; a longer (or endless) body stops the holding and streams through.
 */
export class DriftBuffer {
  readonly status: number;
  readonly headers: string[];
  readonly chunks: Buffer[] = [];
  size = 0;

  constructor(status: number, headers: string[]) {
    this.status = status;
    this.headers = headers;
  }

  /**
   * Keeps a copy of `chunk` (a slice of a shared read buffer) while the body stays within
   * MAX_ERROR_BODY; false, keeping nothing, when it would pass it: such an answer is not
   * M_UNRECOGNIZED and is streamed to the client instead of being held (proxy.ts).
   */
  add(chunk: Buffer): boolean {
    if (this.size + chunk.length > MAX_ERROR_BODY) return false;
    this.size += chunk.length;
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
}

/** True when the held answer is a Matrix M_UNRECOGNIZED error (client-server API, "Unsupported endpoints"). */
export function isDriftAnswer(buf: DriftBuffer): boolean {
  if (buf.size > MAX_ERROR_BODY || buf.size === 0) return false;
  try {
    const body: unknown = JSON.parse(Buffer.concat(buf.chunks).toString('utf8'));
    return typeof body === 'object' && body !== null && (body as { errcode?: unknown }).errcode === 'M_UNRECOGNIZED';
  } catch {
    return false;
  }
}
