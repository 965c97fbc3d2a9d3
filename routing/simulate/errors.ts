/**
 * The simulate/loadtest error module: one class, stable codes, so the CLI maps any of them to a
 * one-line message and exit status 2 and tests match codes instead of message text.
 */

/** Stable codes for simulation and load-test input problems. */
export type SimulateErrorCode =
  | 'bad_option'
  | 'unknown_server'
  | 'unknown_upstream'
  | 'duplicate_server'
  | 'bad_membership_change'
  | 'remote_target'
  | 'bad_target';

/** Bad input to `gateway simulate` or `gateway loadtest` (the message says what to change). */
export class SimulateError extends Error {
  readonly code: SimulateErrorCode;

  constructor(code: SimulateErrorCode, message: string) {
    super(message);
    this.name = 'SimulateError';
    this.code = code;
  }
}
