/**
 * The homeserver's error module: Matrix errors as values with the status codes the Client-Server
 * API gives them (spec: "Standard error response"). Handlers throw or return a MatrixError; one
 * function (`toReply` in http/server.ts) turns it into `{"errcode", "error"}`. Anything else is an
 * M_UNKNOWN 500 whose stack goes to the log, never to the client.
 */

/** Error codes used here, with their default HTTP status. */
export const ERRCODES = {
  M_FORBIDDEN: 403,
  M_NOT_FOUND: 404,
  M_UNKNOWN_TOKEN: 401,
  M_MISSING_TOKEN: 401,
  M_NOT_JSON: 400,
  M_BAD_JSON: 400,
  M_TOO_LARGE: 413,
  M_LIMIT_EXCEEDED: 429,
  M_UNRECOGNIZED: 404,
  M_USER_IN_USE: 400,
  M_INVALID_USERNAME: 400,
  M_ROOM_IN_USE: 400,
  M_INVALID_PARAM: 400,
  M_MISSING_PARAM: 400,
  M_UNKNOWN: 400,
  M_UNAUTHORIZED: 401,
  M_BAD_STATE: 400,
  M_GUEST_ACCESS_FORBIDDEN: 403,
  M_UNSUPPORTED_ROOM_VERSION: 400,
} as const;
export type Errcode = keyof typeof ERRCODES;

/** A Matrix error: errcode, human text, HTTP status, optional extra fields (e.g. UIA flows). */
export class MatrixError extends Error {
  readonly errcode: Errcode;
  readonly status: number;
  readonly extra: Record<string, unknown>;

  constructor(errcode: Errcode, message: string, status?: number, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'MatrixError';
    this.errcode = errcode;
    this.status = status ?? ERRCODES[errcode];
    this.extra = extra;
  }

  /** The response body the spec asks for. */
  body(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

/** Shorthands for the common cases. */
export const forbidden = (msg: string): MatrixError => new MatrixError('M_FORBIDDEN', msg);
export const notFound = (msg: string): MatrixError => new MatrixError('M_NOT_FOUND', msg);
export const badJson = (msg: string): MatrixError => new MatrixError('M_BAD_JSON', msg);
export const missingParam = (msg: string): MatrixError => new MatrixError('M_MISSING_PARAM', msg);
export const invalidParam = (msg: string): MatrixError => new MatrixError('M_INVALID_PARAM', msg);
