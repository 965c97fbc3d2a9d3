/**
 * `/metrics` and `/status` under `--workers N` (issue 3, points 8 and 9): a scrape reaches
 * whichever worker accepted the connection, so that worker asks the primary, which gathers every
 * worker's registry over the cluster IPC channel (prom-client's AggregatorRegistry) and answers
 * with the sums: counters and histograms add up across processes; server availability is the
 * minimum (a server counts as available only when every worker sees it so). `/status` goes the
 * same way: the primary collects every worker's document and the asking worker merges them
 * (gateway/admin.ts mergeStatus).
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'switchyard:metrics';
const STATUS = 'switchyard:status';
/** The primary's answer to either request: `text` for metrics, `docs` for status, or `error`. */
const REPLY = 'switchyard:reply';
const STATUS_COLLECT = 'switchyard:status-collect';
const STATUS_PART = 'switchyard:status-part';

interface Reply { type: string; id: number; text?: string; docs?: unknown[]; error?: string }

let nextId = 0;
const pending = new Map<number, (m: Reply) => void>();
let listening = false;

/** In a worker: one request to the primary, answered by a REPLY with the same id. */
function askPrimary(type: string, timeoutMs: number): Promise<Reply> {
  if (!listening) {
    listening = true;
    process.on('message', (m: Reply) => {
      if (m?.type !== REPLY) return;
      pending.get(m.id)?.(m);
      pending.delete(m.id);
    });
  }
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => { pending.delete(id); reject(new Error('the primary did not answer')); }, timeoutMs);
    pending.set(id, (m) => {
      clearTimeout(timer);
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m);
    });
    process.send?.({ type, id });
  });
}

/** In a worker: answer the primary's prom-client requests from `registry`. */
export function setupWorkerMetrics(registry: Registry): void {
  new AggregatorRegistry(); // installs prom-client's worker-side IPC listener
  AggregatorRegistry.setRegistries([registry]);
}

/** In a worker: the cluster-wide exposition text, via the primary. */
export async function clusterMetricsText(timeoutMs = 5000): Promise<string> {
  return (await askPrimary(REQUEST, timeoutMs)).text ?? '';
}

/** In the primary: serve workers' requests for the aggregated metrics and status documents. */
export function servePrimaryMetrics(): void {
  servePrimaryStatus();
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, m: Reply) => {
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

interface StatusMessage { type: string; id: number; doc?: unknown }

/** In a worker: answer the primary's collection with `doc()`. */
export function setupWorkerStatus(doc: () => unknown): void {
  process.on('message', (m: StatusMessage) => {
    if (m?.type === STATUS_COLLECT) process.send?.({ type: STATUS_PART, id: m.id, doc: doc() });
  });
}

/** In a worker: every worker's /status document (this one's included), via the primary. */
export async function clusterStatus(timeoutMs = 5000): Promise<unknown[]> {
  return (await askPrimary(STATUS, timeoutMs)).docs ?? [];
}

/** In the primary: on a worker's request, collect every live worker's document (1 s at most) and send them back. */
function servePrimaryStatus(collectMs = 1000): void {
  let nextCollect = 0;
  const collecting = new Map<number, (doc: unknown) => void>();
  cluster.on('message', (worker, m: StatusMessage) => {
    if (m?.type === STATUS_PART) return void collecting.get(m.id)?.(m.doc);
    if (m?.type !== STATUS) return;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is NonNullable<typeof w> => w !== undefined && w.isConnected());
    const id = nextCollect++;
    const docs: unknown[] = [];
    const done = (): void => {
      clearTimeout(timer);
      collecting.delete(id);
      if (worker.isConnected()) worker.send({ type: REPLY, id: m.id, docs });
    };
    const timer = setTimeout(done, collectMs); // a busy or dying worker must not hold /status
    collecting.set(id, (doc) => {
      docs.push(doc);
      if (docs.length === workers.length) done();
    });
    for (const w of workers) w.send({ type: STATUS_COLLECT, id });
  });
}
