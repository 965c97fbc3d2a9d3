/**
 * Inactivity without a timer per socket. Node re-arms a socket's timeout on every read and write,
 * which showed in profiles of the proxy at saturation; instead, one sweep per second (per
 * listener, and one for the upstream pools) asks each connection how long its byte counters
 * have stood still. Timeouts therefore fire within a second after their limit.
 */
import type { Socket } from 'node:net';

/** Period of the inactivity sweeps (ms). */
export const SWEEP_MS = 1000;

/** How long one socket has moved no bytes either way, as seen by the sweeps. */
export class QuietTime {
  private read = 0;
  private written = 0;
  private sweeps = 0;

  /** Called once per sweep: the quiet time so far (ms), 0 when bytes moved since the last sweep. */
  observe(socket: Socket): number {
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    if (read !== this.read || written !== this.written) {
      this.read = read;
      this.written = written;
      this.sweeps = 0;
      return 0;
    }
    return ++this.sweeps * SWEEP_MS;
  }

  /** Starts counting again (a new limit applies from now). */
  reset(): void {
    this.sweeps = 0;
  }
}
