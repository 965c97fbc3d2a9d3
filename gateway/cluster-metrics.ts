/**
 * `/metrics` under `--workers N` (issue 3, points 8 and 9): a scrape reaches whichever worker
 * accepted the connection, so that worker asks the primary, which gathers every worker's
 * registry over the cluster IPC channel (prom-client's AggregatorRegistry) and answers with the
 * sums: counters and histograms add up across processes; server availability is the minimum
 * (a server counts as available only when every worker sees it so).
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'switchyard:metrics';
const REPLY = 'switchyard:metrics-reply';

interface MetricsMessage { type: string; id: number; text?: string; error?: string }

let nextId = 0;
const pending = new Map<number, (m: MetricsMessage) => void>();

/** In a worker: answer the primary's prom-client requests from `registry`, and route replies. */
export function setupWorkerMetrics(registry: Registry): void {
  new AggregatorRegistry(); // installs prom-client's worker-side IPC listener
  AggregatorRegistry.setRegistries([registry]);
  process.on('message', (m: MetricsMessage) => {
    if (m?.type !== REPLY) return;
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  });
}

/** In a worker: the cluster-wide exposition text, via the primary. */
export function clusterMetricsText(timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => { pending.delete(id); reject(new Error('the primary did not answer')); }, timeoutMs);
    pending.set(id, (m) => {
      clearTimeout(timer);
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m.text ?? '');
    });
    process.send?.({ type: REQUEST, id });
  });
}

/** In the primary: serve workers' requests for the aggregated metrics. */
export function servePrimaryMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, m: MetricsMessage) => {
    if (m?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: REPLY, id: m.id, text }),
      (err: Error) => worker.send({ type: REPLY, id: m.id, error: err.message }),
    );
  });
}

/** True when this process is a cluster worker (metrics must be aggregated). */
export function inCluster(): boolean {
  return cluster.isWorker;
}
