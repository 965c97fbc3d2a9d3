/**
 * Option parsing helpers for `gateway simulate` and `gateway loadtest`: numbers are checked
 * against a range and named in the error, so `--users lots` fails with a message, not NaN.
 */
import { SimulateError } from '../../routing/simulate/errors.ts';

/** An integer option within [min, max], or `fallback` when absent. */
export function intOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new SimulateError('bad_option', `--${name} ${raw}: expected an integer from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`);
  }
  return v;
}

/** A positive number option within (0, max], or `fallback` when absent. */
export function numberOption(name: string, raw: string | undefined, fallback: number | null, max: number): number | null {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0 || v > max) throw new SimulateError('bad_option', `--${name} ${raw}: expected a number above 0 and at most ${max}`);
  return v;
}
