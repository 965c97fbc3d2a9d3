/**
 * Keeps streamed bodies from inflating resident memory (issue 3, point 1: a 200 MB upload with
 * < 50 MB RSS growth). Every socket read allocates a fresh 64 KB buffer; streaming frees them
 * at once, but V8 only notices external (ArrayBuffer) garbage after ~64 MB of it, because the JS
 * objects holding it are tiny and never fill the young generation. After every 16 MB streamed a
 * minor GC (a scavenge: about a millisecond, young generation only) releases that garbage.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const EVERY = 16 * 1024 * 1024;
let streamed = 0;

type GcFn = (opts?: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

function exposeGc(): GcFn | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as GcFn) : null;
  } catch {
    return null;
  }
}

const gc = exposeGc();

/** Runs a minor GC (a scavenge) now; false when this process cannot (no gc could be exposed). */
export function minorGc(): boolean {
  if (gc === null) return false;
  gc({ type: 'minor' });
  return true;
}

/** Counts body bytes that passed through; runs a scavenge after every 16 MB. */
export function noteStreamed(bytes: number): void {
  streamed += bytes;
  if (streamed < EVERY) return;
  streamed = 0;
  minorGc();
}
