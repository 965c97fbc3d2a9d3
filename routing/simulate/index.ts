/**
 * `gateway simulate` as a library call: load the routes file, compile the table (and, with
 * membership changes, a second table from the changed copy), drive both with one request stream,
 * and summarise. The CLI and the tests both come through here.
 */
import { loadRoutesFile } from '../../config/routes.ts';
import type { RoutesConfig } from '../../config/routes-schema.ts';
import { compileTable } from '../table.ts';
import { runSimulation, type LaneSpec } from './engine.ts';
import { SimulateError } from './errors.ts';
import { applyMembership, parseAdd, upstreamOf } from './membership.ts';
import { DEFAULT_MIX, loadMixFile, type Mix } from './mix.ts';
import { summarise, type SimulationReport } from './summary.ts';
import { createTrafficModel, DEFAULT_ZIPF_ROOMS, DEFAULT_ZIPF_USERS } from './traffic.ts';

/** Everything `gateway simulate` takes. */
export interface SimulateOptions {
  readonly routes: string;
  readonly users: number;
  readonly rooms: number;
  readonly origins: number;
  readonly requests: number;
  readonly seed: string;
  /** A mix file path, or a mix already loaded. */
  readonly mix?: string | Mix;
  readonly down?: readonly string[];
  readonly add?: readonly string[];
  readonly zipfUsers?: number;
  readonly zipfRooms?: number;
}

/** Runs a simulation from a routes file. Throws ConfigError (routes, mix) or SimulateError (options). */
export function simulateFile(o: SimulateOptions): SimulationReport {
  return simulateConfig(loadRoutesFile(o.routes).config, o);
}

/** Runs a simulation from an already validated configuration. */
export function simulateConfig(config: RoutesConfig, o: SimulateOptions): SimulationReport {
  if (!Number.isInteger(o.requests) || o.requests < 1) throw new SimulateError('bad_option', `--requests must be a positive integer, got ${o.requests}`);
  const mix = typeof o.mix === 'string' ? loadMixFile(o.mix) : o.mix ?? DEFAULT_MIX;
  const down = o.down ?? [], add = o.add ?? [];
  const added = add.map(parseAdd);
  const tables: LaneSpec[] = [{ label: 'before', table: compileTable(config) }];
  if (down.length > 0 || added.length > 0) {
    const after = applyMembership(config, down, added);
    // Resolved in the changed config: a --down may name a server --add brings in.
    const changed = new Set([...added.map((a) => a.upstream), ...down.map((d) => upstreamOf(after, d))]);
    tables.push({ label: 'after', table: compileTable(after), changed });
  }
  const zipfUsers = o.zipfUsers ?? DEFAULT_ZIPF_USERS, zipfRooms = o.zipfRooms ?? DEFAULT_ZIPF_ROOMS;
  const model = createTrafficModel({ users: o.users, rooms: o.rooms, origins: o.origins, seed: o.seed, mix, zipfUsers, zipfRooms });
  const run = runSimulation(model, tables, o.requests);
  return summarise(run, model, {
    routes: o.routes, users: o.users, rooms: o.rooms, origins: o.origins, requests: o.requests,
    seed: o.seed, mix, down: [...down], add: [...add], zipfUsers, zipfRooms,
  });
}
