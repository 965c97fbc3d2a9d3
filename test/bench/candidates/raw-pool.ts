/**
 * Candidate: the gateway's own engine without routing: the hand-rolled HTTP/1.1 listener over
 * node:net (gateway/http1-server.ts) and the hand-rolled keep-alive upstream pool
 * (gateway/pool.ts, gateway/proxy.ts), request head written from the raw headers, minimal
 * response parser. One server.
 */
import { Http1Server } from '../../../gateway/http1-server.ts';
import { ConnectionPool, parseTarget } from '../../../gateway/pool.ts';
import { Exchange, type ProxyContext } from '../../../gateway/proxy.ts';
import { routeRuntime } from '../../../gateway/route-runtime.ts';
import { RoutesFile } from '../../../config/routes-schema.ts';
import type { Balancer, ServerState } from '../../../routing/types.ts';
import { listenPort, targetPort, exitOnTerm } from './common.ts';

const server: ServerState = { upstream: 'main', name: 'client1', url: `http://127.0.0.1:${targetPort()}`, weight: 1, down: false, available: true, inflight: 0 };
const pool = new ConnectionPool(parseTarget(server.url), { maxIdle: 256, idleTimeout: 120_000 });
const balancer: Balancer = { policy: 'round_robin', pick: (_k, ex) => (ex?.has(server) ? null : server) };
const config = RoutesFile.parse({ upstreams: { main: { servers: [{ name: 'client1', url: server.url }] } } });
const runtime = routeRuntime(config, null);
const ctx: ProxyContext = {
  poolFor: () => pool, pickDefault: () => null, defaultUpstream: 'main', driftReplay: false, exposeServer: false,
  observer: { attempt() {}, retry() {}, drift() {}, finish() {} },
};
await new Http1Server({ maxHeader: 16 * 1024, headersTimeout: 60_000 }, (req, res) => {
  new Exchange(req, res, ctx, {
    runtime, upstream: 'main', balancer, key: null, server, clientIp: req.remoteAddress, trustedPeer: false, idempotent: true,
  }).run();
}).listen(listenPort, '127.0.0.1');
exitOnTerm();
