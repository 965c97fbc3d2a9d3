/**
 * HTTP replication endpoints (served only on listeners with the `replication` resource, behind
 * `worker_replication_secret`): persist a batch of events on this room's persister, or apply a
 * write to a stream this process writes. Wire format: docs/replication.md.
 */
import type { Homeserver } from '../context.ts';
import { MatrixError, badJson } from '../errors.ts';
import type { RouteDef } from '../http/types.ts';
import type { PersistRequest } from '../rooms/persister.ts';
import type { StreamOp } from '../streams/writers.ts';
import { STREAMS, type StreamName } from '../config/deployment.ts';

/** Routes of this module. */
export function replicationRoutes(hs: Homeserver): RouteDef[] {
  return [
    { method: 'POST', path: '/_synapse/replication/send_events', auth: 'replication', placement: 'replication', handler: async (c) => {
      const req = c.body as unknown as PersistRequest;
      if (typeof req.room_id !== 'string' || !Array.isArray(req.drafts)) throw badJson('room_id and drafts are required');
      if (!hs.persister || hs.deployment.eventPersisterFor(req.room_id) !== hs.deployment.instanceName) {
        throw new MatrixError('M_UNKNOWN', `${hs.deployment.instanceName} does not persist events for ${req.room_id}`, 400);
      }
      return { body: await hs.persister.persist(req) };
    } },
    { method: 'POST', path: '/_synapse/replication/stream/:stream', auth: 'replication', placement: 'replication', handler: async (c) => {
      const stream = c.params.stream as StreamName;
      if (!STREAMS.includes(stream) || stream === 'events' || c.body.stream !== stream) throw badJson('unknown stream');
      if (!hs.streamWriter || !hs.deployment.writes(stream)) throw new MatrixError('M_UNKNOWN', `${hs.deployment.instanceName} does not write ${stream}`, 400);
      const ids = await hs.streamWriter.apply(c.body as unknown as StreamOp);
      return { body: { stream_ids: ids } };
    } },
  ];
}
