/**
 * Per-route settings the data plane needs on every request (timeouts, limits, long poll),
 * resolved once per compiled table from the route's own settings over the file's defaults, so
 * the hot path reads plain numbers (routes-schema.ts: Route.timeouts/limits, RoutesFile.timeouts).
 */
import type { RoutesConfig, RouteConfig } from '../config/routes-schema.ts';
import type { CompiledRoute } from '../routing/types.ts';

/** What one route (or the default upstream) needs at request time. */
export interface RouteRuntime {
  /** Route name, or `default` when the default upstream serves the request. */
  readonly name: string;
  readonly connectTimeout: number;
  readonly firstByteTimeout: number;
  readonly idleTimeout: number;
  readonly maxBody: number;
  readonly maxHeader: number;
  readonly longPoll: boolean;
  /** Per-route hooks (metric children) cached by the observer; opaque here. */
  slot: unknown;
}

/** Builds the runtime of one route (or of the default route when `route` is null). */
export function routeRuntime(config: RoutesConfig, route: RouteConfig | null): RouteRuntime {
  const t = route?.timeouts;
  return {
    name: route?.name ?? 'default',
    connectTimeout: t?.connect ?? config.timeouts.connect,
    firstByteTimeout: t?.first_byte ?? config.timeouts.first_byte,
    idleTimeout: t?.idle ?? config.timeouts.idle,
    maxBody: route?.limits?.max_body ?? config.limits.max_body,
    maxHeader: route?.limits?.max_header ?? config.limits.max_header,
    longPoll: route?.long_poll ?? false,
    slot: undefined,
  };
}

/** Runtime lookup for one compiled table: by CompiledRoute identity, with a default entry. */
export class RuntimeIndex {
  private readonly byRoute = new Map<CompiledRoute, RouteRuntime>();
  private readonly byName = new Map<string, RouteRuntime>();
  readonly fallback: RouteRuntime;
  private readonly config: RoutesConfig;

  constructor(config: RoutesConfig) {
    this.config = config;
    this.fallback = routeRuntime(config, null);
    for (const r of config.routes) this.byName.set(r.name, routeRuntime(config, r));
  }

  /** The runtime of a decision's route (null route: the default upstream). */
  get(route: CompiledRoute | null): RouteRuntime {
    if (route === null) return this.fallback;
    let rt = this.byRoute.get(route);
    if (rt === undefined) {
      rt = this.byName.get(route.name) ?? routeRuntime(this.config, route.config);
      this.byRoute.set(route, rt);
    }
    return rt;
  }

  /** Every runtime (for pre-binding metric children). */
  all(): RouteRuntime[] {
    return [this.fallback, ...this.byName.values()];
  }
}
