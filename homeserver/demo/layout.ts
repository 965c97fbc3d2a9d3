/**
 * Writes a Synapse-format worker deployment: one shared homeserver.yaml and one file per worker
 * under workers/, with the same keys Synapse reads (worker_app, worker_name, worker_listeners,
 * instance_map, stream_writers, ...), so `homeserver --config` and `gateway import-synapse` read
 * exactly what they would read for Synapse. Used by `make demo`, the end-to-end test and the
 * messaging benchmark.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Where a worker listens (client: undefined = no client listener). */
export interface ProcessPorts { client?: number; replication: number }

/** What the layout needs to know. */
export interface LayoutOptions {
  dir: string;
  serverName: string;
  postgres: { host: string; port: number; user: string; database: string };
  redis: { host: string; port: number };
  registrationSharedSecret: string;
  replicationSecret: string;
  /** Ports per process name: `main` plus each worker. */
  ports: Record<string, ProcessPorts>;
  eventPersisters: string[];
  /** Writer of typing, to_device, receipts, account_data and presence. */
  streamWriter?: string | undefined;
}

/** The files written. */
export interface WrittenLayout {
  sharedFile: string;
  workersDir: string;
  workerFiles: Record<string, string>;
}

/** The demo's process set (issue 5 point 7): 2 sync workers, 1 client worker, 2 persisters, 1 stream writer. */
export const DEMO_WORKERS = ['synchrotron1', 'synchrotron2', 'client_reader1', 'event_persister1', 'event_persister2', 'stream_writer1'] as const;

function listeners(p: ProcessPorts) {
  const out: Record<string, unknown>[] = [];
  if (p.client !== undefined) out.push({ port: p.client, bind_addresses: ['127.0.0.1'], type: 'http', x_forwarded: true, resources: [{ names: ['client'], compress: false }] });
  out.push({ port: p.replication, bind_addresses: ['127.0.0.1'], type: 'http', resources: [{ names: ['replication'] }] });
  return out;
}

/** Writes homeserver.yaml and workers/<name>.yaml. */
export function writeLayout(o: LayoutOptions): WrittenLayout {
  mkdirSync(join(o.dir, 'workers'), { recursive: true });
  const writers = o.streamWriter ? { typing: [o.streamWriter], to_device: [o.streamWriter], receipts: [o.streamWriter], account_data: [o.streamWriter], presence: [o.streamWriter] } : {};
  const shared = {
    server_name: o.serverName,
    public_baseurl: 'http://127.0.0.1:8008/',
    report_stats: false,
    listeners: listeners(o.ports.main!),
    database: { name: 'psycopg2', args: { ...o.postgres, cp_min: 2, cp_max: 30 } },
    redis: { enabled: true, host: o.redis.host, port: o.redis.port },
    worker_replication_secret: o.replicationSecret,
    registration_shared_secret: o.registrationSharedSecret,
    enable_registration: true,
    enable_registration_without_verification: true,
    instance_map: Object.fromEntries(Object.entries(o.ports).map(([name, p]) => [name, { host: '127.0.0.1', port: p.replication }])),
    stream_writers: { events: o.eventPersisters, ...writers },
    run_background_tasks_on: 'main',
    max_upload_size: '50M',
  };
  const sharedFile = join(o.dir, 'homeserver.yaml');
  writeFileSync(sharedFile, `# Shared configuration (Synapse keys), written by homeserver/demo/layout.ts\n${stringify(shared)}`);
  const workerFiles: Record<string, string> = {};
  for (const [name, p] of Object.entries(o.ports)) {
    if (name === 'main') continue;
    const file = join(o.dir, 'workers', `${name}.yaml`);
    writeFileSync(file, stringify({ worker_app: 'synapse.app.generic_worker', worker_name: name, worker_listeners: listeners(p) }));
    workerFiles[name] = file;
  }
  return { sharedFile, workersDir: join(o.dir, 'workers'), workerFiles };
}
