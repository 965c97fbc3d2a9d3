/**
 * Live progress for load tests (issue 6 point 3): a redrawn bar on a terminal, plain periodic
 * lines otherwise (CI logs, pipes), so logs stay readable and terminals stay tidy.
 */

/** Where progress goes and how often a plain line is written. */
export interface ProgressOptions {
  readonly stream: NodeJS.WriteStream;
  readonly durationMs: number;
  /** Interval between plain lines (non-TTY). Default 1000 ms; the bar redraws every 200 ms. */
  readonly lineEveryMs?: number;
  /** Force a mode (tests); default: bar when the stream is a TTY. */
  readonly mode?: 'bar' | 'lines' | 'off';
}

/** A running progress display; `status()` supplies the text after the bar. */
export interface Progress {
  stop(): void;
}

/** Starts redrawing; call stop() when the run ends (it finishes the line). */
export function startProgress(opts: ProgressOptions, status: () => string): Progress {
  const mode = opts.mode ?? (opts.stream.isTTY ? 'bar' : 'lines');
  if (mode === 'off') return { stop: () => {} };
  const start = performance.now();
  const draw = (): void => {
    const elapsed = performance.now() - start;
    const frac = Math.min(1, elapsed / opts.durationMs);
    const secs = `${(elapsed / 1000).toFixed(1)}s/${(opts.durationMs / 1000).toFixed(0)}s`;
    if (mode === 'bar') {
      const width = 30, filled = Math.round(frac * width);
      opts.stream.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${secs} ${status()}`);
    } else {
      opts.stream.write(`progress ${secs} ${status()}\n`);
    }
  };
  const timer = setInterval(draw, mode === 'bar' ? 200 : opts.lineEveryMs ?? 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (mode === 'bar') opts.stream.write('\r\x1b[2K');
    },
  };
}
