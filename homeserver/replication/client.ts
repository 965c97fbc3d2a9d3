/**
 * HTTP replication client: calls that need a reply go to the instance that owns the work (an event
 * creator asks the room's persister to persist; a worker asks the typing writer to record typing),
 * at `/_synapse/replication/...` on the instance_map address, with `Authorization: Bearer
 * <worker_replication_secret>` (Synapse docs/workers.md "worker_replication_secret").
 */
import { Agent, request } from 'undici';
import { MatrixError, type Errcode, ERRCODES } from '../errors.ts';
import type { Deployment } from '../config/deployment.ts';

/** Calls another instance's replication endpoint and returns its JSON reply. */
export class ReplicationClient {
  readonly #deployment: Deployment;
  readonly #agent = new Agent({ keepAliveTimeout: 30_000, connections: 64, pipelining: 1 });

  constructor(deployment: Deployment) {
    this.#deployment = deployment;
  }

  /** POSTs `body` to `path` on `instance`; Matrix errors from the far side are rethrown as such. */
  async call<T>(instance: string, path: string, body: unknown): Promise<T> {
    const base = this.#deployment.replicationUrl(instance);
    if (!base) throw new MatrixError('M_UNKNOWN', `no instance_map entry for ${instance}`, 500);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const secret = this.#deployment.config.worker_replication_secret;
    if (secret) headers.authorization = `Bearer ${secret}`;
    const res = await request(`${base}/_synapse/replication/${path}`, { method: 'POST', body: JSON.stringify(body), headers, dispatcher: this.#agent });
    const json = (await res.body.json()) as Record<string, unknown>;
    if (res.statusCode >= 400) {
      const code = (typeof json.errcode === 'string' && json.errcode in ERRCODES ? json.errcode : 'M_UNKNOWN') as Errcode;
      throw new MatrixError(code, String(json.error ?? `replication call to ${instance} failed`), res.statusCode);
    }
    return json as T;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
