/**
 * `gateway simulate` (issue 6, points 1–2): drives the compiled routing table with a synthetic
 * Matrix traffic model and reports balance, stickiness and — for --down/--add — which keys move,
 * as text, JSON, or a self-contained HTML report. Offline: nothing is sent anywhere.
 */
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../config/errors.ts';
import { SimulateError } from '../../routing/simulate/errors.ts';
import { simulateFile } from '../../routing/simulate/index.ts';
import { renderHtml } from '../../routing/simulate/report-html.ts';
import { renderText } from '../../routing/simulate/text.ts';
import { intOption } from '../loadtest/args.ts';

export const summary = 'simulate Matrix traffic through a routes.yaml: balance, stickiness, keys moved';

export const help = `Usage: gateway simulate --routes FILE [options]

Sends a synthetic Matrix workload through the compiled routing table of FILE (no network) and
prints the share of each upstream and server, the imbalance of each pool (max/mean requests per
unit of weight), and whether routing is sticky: each user's syncs on one server, each room's
sends and pagination on one server, each remote server's federation transactions on one server.

Traffic model: users, rooms and remote servers with Zipf-distributed activity (a few are very
busy); Synapse access tokens (syt_…) in the Authorization header or the access_token parameter;
since tokens; room IDs raw or percent-encoded; federation /send/ with X-Matrix origins, each
origin from one to three source addresses. Default mix (shared/bench): sync 55 %, initial sync
3 %, event sending 12 %, pagination 5 %, federation 5 %, stream writers 5 %, other 10 %,
unmatched 5 %.

Options:
  --routes FILE          routes.yaml to simulate (required)
  --requests N           requests to simulate (default 1000000)
  --users N              users (default 10000)
  --rooms N              rooms (default 2000)
  --origins N            remote servers sending federation traffic (default 50)
  --seed S               seed of the traffic model (default 1); same seed, same requests
  --zipf-users S         Zipf exponent of user activity (default 0.8; 0 = uniform)
  --zipf-rooms S         Zipf exponent of room and remote-server activity (default 1)
  --mix FILE             YAML/JSON map of category → share, overriding the default mix;
                         categories: sync, initial_sync, event_send, pagination, federation,
                         stream_writers, other, unmatched (omitted ones get 0; shares are normalised)
  --down SERVER          simulate SERVER (NAME or UPSTREAM/NAME) marked down; repeatable
  --add UP=NAME@URL      simulate a server added to upstream UP; repeatable
  --report FILE          also write a self-contained HTML report (charts, stickiness, keys moved)
  --json                 print the report as JSON instead of text
  -h, --help             this text

With --down/--add the same requests go through the table before and after the change, and the
output adds the fraction of sticky keys (users, rooms, origins) that moved and from where to where.

Exit status: 0 done, 1 invalid routes or mix file, 2 usage error.`;

type Values = { [k: string]: string | boolean | string[] | undefined };

export async function run(argv: string[]): Promise<number> {
  let v: Values;
  try {
    v = parseArgs({
      args: argv, strict: true,
      options: {
        routes: { type: 'string' }, requests: { type: 'string' }, users: { type: 'string' }, rooms: { type: 'string' },
        origins: { type: 'string' }, seed: { type: 'string' }, mix: { type: 'string' },
        'zipf-users': { type: 'string' }, 'zipf-rooms': { type: 'string' },
        down: { type: 'string', multiple: true }, add: { type: 'string', multiple: true },
        report: { type: 'string' }, json: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    console.error(`gateway simulate: ${(err as Error).message}\n\n${help}`);
    return 2;
  }
  try {
    return execute(v);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    if (err instanceof SimulateError) {
      console.error(`gateway simulate: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

function zipfOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0 || v > 5) throw new SimulateError('bad_option', `--${name} ${raw}: expected an exponent from 0 (uniform) to 5`);
  return v;
}

/** Fails before the (long) simulation when --report FILE cannot be written. */
function checkWritable(file: string): void {
  try {
    if (existsSync(file)) {
      if (statSync(file).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      accessSync(file, constants.W_OK);
    } else {
      accessSync(dirname(resolve(file)), constants.W_OK);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such directory' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new SimulateError('bad_option', `--report ${file}: cannot write there (${why})`);
  }
}

function execute(v: Values): number {
  if (typeof v.routes !== 'string') throw new SimulateError('bad_option', '--routes FILE is required (see --help)');
  if (typeof v.report === 'string') checkWritable(v.report);
  const report = simulateFile({
    routes: v.routes,
    requests: intOption('requests', v.requests as string | undefined, 1_000_000, 1, 100_000_000),
    users: intOption('users', v.users as string | undefined, 10_000, 1, 10_000_000),
    rooms: intOption('rooms', v.rooms as string | undefined, 2_000, 1, 10_000_000),
    origins: intOption('origins', v.origins as string | undefined, 50, 1, 1_000_000),
    seed: typeof v.seed === 'string' ? v.seed : '1',
    mix: typeof v.mix === 'string' ? v.mix : undefined,
    zipfUsers: zipfOption('zipf-users', v['zipf-users'] as string | undefined),
    zipfRooms: zipfOption('zipf-rooms', v['zipf-rooms'] as string | undefined),
    down: (v.down as string[] | undefined) ?? [],
    add: (v.add as string[] | undefined) ?? [],
  });
  if (typeof v.report === 'string') {
    try {
      writeFileSync(v.report, renderHtml(report));
    } catch (err) {
      throw new SimulateError('bad_option', `--report ${v.report}: cannot write there (${(err as Error).message})`);
    }
  }
  if (v.json) console.log(JSON.stringify(report, null, 2));
  else console.log(renderText(report));
  if (typeof v.report === 'string') (v.json ? console.error : console.log)(`\nreport written to ${v.report}`);
  return 0;
}
