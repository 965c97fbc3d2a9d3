/**
 * `gateway loadtest` (issue 6, point 3): real HTTP load against a gateway or a homeserver.
 * `routing` replays the simulate traffic model; `messaging` drives real Matrix clients. Both are
 * bounded in time and refuse non-loopback targets unless --allow-remote is given.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../config/errors.ts';
import { SimulateError } from '../../routing/simulate/errors.ts';
import { loadMixFile } from '../../routing/simulate/mix.ts';
import { intOption, numberOption } from '../loadtest/args.ts';
import { runMessagingScenario } from '../loadtest/messaging.ts';
import { startProgress } from '../loadtest/progress.ts';
import { renderMessaging, renderRouting } from '../loadtest/report.ts';
import { runRoutingScenario } from '../loadtest/routing.ts';
import { checkTarget } from '../loadtest/target.ts';

export const summary = 'send real load to a gateway or homeserver (routing or messaging scenario)';

export const help = `Usage: gateway loadtest --target URL --scenario routing|messaging [options]

routing    replays the \`gateway simulate\` traffic model (tokens in header and query, since
           tokens, room IDs raw and percent-encoded, federation transactions with X-Matrix
           origins) and reports latency percentiles per route category, status counts, and the
           distribution over servers when responses name the server (X-Switchyard-Server, which
           the gateway sends with \`expose_server_header: true\`; else X-Upstream).
messaging  against any Matrix homeserver: registers users, creates rooms, keeps --connections
           clients long-polling /sync while --senders users send messages, and reports sends/s,
           send-to-sync delivery latency (p50/p95/p99) and lost and duplicated messages.

Options:
  --target URL          base URL of the gateway or homeserver (required)
  --scenario NAME       routing or messaging (required)
  --duration S          measured seconds of load (default 10, at most 3600); in-flight requests
                        get 2 s more
  --warmup S            routing: seconds of unmeasured load first (default 1; 0 to measure from
                        the first request)
  --connections N       routing: keep-alive connections; messaging: syncing clients (default 16)
  --rate R              offered requests (routing) or messages (messaging) per second over all
                        connections; latency counts from the scheduled time (no coordinated
                        omission). Default: routing closed loop, messaging 20/s
  --json                print the result as JSON (progress goes to stderr)
  --allow-remote        allow a target that is not 127.0.0.0/8, ::1 or localhost
  --progress MODE       bar, lines or off (default: bar on a terminal, lines otherwise)
  routing:
  --users N --rooms N --origins N --seed S --mix FILE   as for \`gateway simulate\`
  messaging:
  --senders M           sending users (default 2)
  --rooms N             rooms (default 2); every client and sender joins every room
  --shared-secret S     Synapse registration_shared_secret (also SWITCHYARD_SHARED_SECRET);
                        without it, open registration with m.login.dummy
  --drain S             seconds clients keep syncing for late messages (default 10)
  -h, --help            this text

Progress: a live bar when the output is a terminal, one line a second otherwise.
Exit status: 0 done, 1 the run failed (e.g. setup errors), 2 usage error or refused target.`;

type Values = { [k: string]: string | boolean | undefined };

/** --progress as given (undefined: the default for the output), or a usage error. */
function progressMode(raw: string | undefined): 'bar' | 'lines' | 'off' | undefined {
  if (raw === undefined || raw === 'bar' || raw === 'lines' || raw === 'off') return raw;
  throw new SimulateError('bad_option', `--progress must be bar, lines or off, not '${raw}'`);
}

export async function run(argv: string[]): Promise<number> {
  let v: Values;
  try {
    const str = { type: 'string' } as const;
    v = parseArgs({
      args: argv, strict: true,
      options: {
        target: str, scenario: str, duration: str, connections: str, rate: str, json: { type: 'boolean' },
        'allow-remote': { type: 'boolean' }, users: str, rooms: str, origins: str, seed: str, mix: str,
        senders: str, 'shared-secret': str, drain: str, progress: str, warmup: str,
      },
    }).values;
  } catch (err) {
    console.error(`gateway loadtest: ${(err as Error).message}\n\n${help}`);
    return 2;
  }
  try {
    return await execute(v);
  } catch (err) {
    if (err instanceof SimulateError || err instanceof ConfigError) {
      console.error(err instanceof SimulateError ? `gateway loadtest: ${err.message}` : err.message);
      return 2;
    }
    console.error(`gateway loadtest: ${(err as Error).message}`);
    return 1;
  }
}

async function execute(v: Values): Promise<number> {
  const s = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (!s('target')) throw new SimulateError('bad_option', '--target URL is required (see --help)');
  const scenario = s('scenario');
  if (scenario !== 'routing' && scenario !== 'messaging') throw new SimulateError('bad_option', '--scenario must be routing or messaging');
  progressMode(s('progress')); // a bad --progress is refused before anything is sent
  const target = checkTarget(s('target')!, v['allow-remote'] === true);
  const loop = {
    durationMs: numberOption('duration', s('duration'), 10, 3600)! * 1000,
    connections: intOption('connections', s('connections'), 16, 1, 10_000),
    rate: numberOption('rate', s('rate'), scenario === 'messaging' ? 20 : null, 1_000_000),
  };
  const stream = v.json ? process.stderr : process.stdout;
  const warmupMs = (raw: string | undefined): number => (raw === '0' ? 0 : numberOption('warmup', raw, 1, 600)! * 1000);
  const mode = progressMode(s('progress'));
  const progress = (status: () => string) => {
    const total = loop.durationMs + (scenario === 'routing' ? warmupMs(s('warmup')) : 0);
    const p = startProgress({ stream, durationMs: total, mode }, status);
    return () => p.stop();
  };
  const result = scenario === 'routing'
    ? await runRoutingScenario({
      ...loop, target, warmupMs: warmupMs(s('warmup')),
      users: intOption('users', s('users'), 10_000, 1, 10_000_000), rooms: intOption('rooms', s('rooms'), 2_000, 1, 10_000_000),
      origins: intOption('origins', s('origins'), 50, 1, 1_000_000), seed: s('seed') ?? '1',
      mix: s('mix') ? loadMixFile(s('mix')!) : undefined,
    }, progress)
    : await runMessagingScenario({
      ...loop, target, clients: loop.connections,
      senders: intOption('senders', s('senders'), 2, 1, 1000), rooms: intOption('rooms', s('rooms'), 2, 1, 1000),
      sharedSecret: s('shared-secret') ?? process.env.SWITCHYARD_SHARED_SECRET ?? null,
      drainMs: numberOption('drain', s('drain'), 10, 600)! * 1000,
    }, progress);
  if (v.json) {
    for (const w of result.warnings) console.error(`gateway loadtest: warning: ${w}`);
    console.log(JSON.stringify(result, null, 2));
  }
  else console.log(result.scenario === 'routing' ? renderRouting(result) : renderMessaging(result));
  return 0;
}
