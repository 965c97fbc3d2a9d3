/**
 * The replication wire format (docs/replication.md): one command per Redis pub/sub message, a
 * line of space-separated fields whose last field may be JSON, after Synapse's TCP replication
 * commands (synapse/replication/tcp/commands.py). Commands are a tagged union with parse/serialize
 * and an exhaustive switch, so a new command cannot be forgotten by either side.
 */
import type { StreamName } from '../config/deployment.ts';
import { STREAMS } from '../config/deployment.ts';

/** A row was persisted on `stream` by `instance` with stream ID `token`. */
export interface RdataCommand { kind: 'RDATA'; stream: StreamName; instance: string; token: number; row: Record<string, unknown> }
/** `instance`'s persisted-up-to position on `stream` moved from `prev` to `next` (prev == next: an announcement). */
export interface PositionCommand { kind: 'POSITION'; stream: StreamName; instance: string; prev: number; next: number }
/** `instance` (re)connected and asks every writer to announce its positions. */
export interface ReplicateCommand { kind: 'REPLICATE'; instance: string }

/** Drop `key` from the named cache on every process (after Synapse's INVALIDATE_CACHE). */
export interface InvalidateCommand { kind: 'INVALIDATE'; instance: string; cache: string; key: string }

export type Command = RdataCommand | PositionCommand | ReplicateCommand | InvalidateCommand;

/** Serializes a command to its wire line. */
export function serialize(cmd: Command): string {
  switch (cmd.kind) {
    case 'RDATA':
      return `RDATA ${cmd.stream} ${cmd.instance} ${cmd.token} ${JSON.stringify(cmd.row)}`;
    case 'POSITION':
      return `POSITION ${cmd.stream} ${cmd.instance} ${cmd.prev} ${cmd.next}`;
    case 'REPLICATE':
      return `REPLICATE ${cmd.instance}`;
    case 'INVALIDATE':
      return `INVALIDATE ${cmd.instance} ${cmd.cache} ${cmd.key}`;
    default:
      return assertNever(cmd);
  }
}

/** Parses a wire line; throws on anything malformed (callers log and drop it). */
export function parse(line: string): Command {
  const [kind, ...rest] = splitFields(line, 4);
  switch (kind) {
    case 'RDATA': {
      const [stream, instance, token, json] = rest;
      const row: unknown = JSON.parse(json ?? '');
      if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new Error('RDATA row must be a JSON object');
      return { kind, stream: streamName(stream), instance: nonEmpty(instance), token: int(token), row: row as Record<string, unknown> };
    }
    case 'POSITION': {
      const [stream, instance, prev, next] = rest;
      return { kind, stream: streamName(stream), instance: nonEmpty(instance), prev: int(prev), next: int(next) };
    }
    case 'REPLICATE':
      return { kind, instance: nonEmpty(rest[0]) };
    case 'INVALIDATE': {
      const [instance, cache, key] = splitFields(line, 3).slice(1);
      return { kind, instance: nonEmpty(instance), cache: nonEmpty(cache), key: nonEmpty(key) };
    }
    default:
      throw new Error(`unknown replication command ${JSON.stringify(kind)}`);
  }
}

/** Splits off up to `n` space-separated fields after the command name; the last keeps its spaces. */
function splitFields(line: string, n: number): string[] {
  const out: string[] = [];
  let rest = line;
  for (let i = 0; i < n && rest.length > 0; i++) {
    const sp = rest.indexOf(' ');
    if (sp < 0 || i === n) { out.push(rest); rest = ''; break; }
    out.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1);
  }
  if (rest.length > 0) out.push(rest);
  return out;
}

function streamName(s: string | undefined): StreamName {
  if (!STREAMS.includes(s as StreamName)) throw new Error(`unknown stream ${JSON.stringify(s)}`);
  return s as StreamName;
}

function int(s: string | undefined): number {
  if (s === undefined || !/^\d+$/.test(s)) throw new Error(`expected a stream position, got ${JSON.stringify(s)}`);
  return Number(s);
}

function nonEmpty(s: string | undefined): string {
  if (!s) throw new Error('missing instance name');
  return s;
}

function assertNever(x: never): never {
  throw new Error(`unhandled command ${JSON.stringify(x)}`);
}
