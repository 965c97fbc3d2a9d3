/**
 * `gateway import-synapse`: reads a Synapse worker deployment's own config files and writes a
 * commented routes.yaml that `gateway check` accepts (issue 4, point 1). Warnings go to stderr
 * (and into the file's header); the file goes to --out or stdout.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../config/errors.ts';
import { importSynapse, parseRoleOverrides, ROLES, SynapseConfigError, warningLines, type ImportOptions } from '../../config/synapse/index.ts';

export const summary = 'Generate routes.yaml from a Synapse deployment\'s homeserver.yaml and worker files';

export const help = `Usage: gateway import-synapse --config homeserver.yaml [--config more.yaml]...
                             --workers DIR_OR_FILE... [options]

Reads Synapse's shared config and worker files (instance_map, stream_writers, worker_app,
worker_name, worker_listeners, pusher_instances, federation_sender_instances, ...) and writes a
commented routes.yaml: one server per process (named by worker_name; main is 'main'), pools for
sync / initial sync / client / federation / event sending / media / SSO / user directory, and a
route to each stream writer.

Options:
  --config FILE_OR_DIR       shared config file, or a directory whose *.yaml files are read in
                             sorted order, as Synapse's --config-path (repeatable; later files
                             override earlier top-level keys)
  --workers DIR_OR_FILE      worker config file, or a directory of *.yaml worker files (repeatable)
  --role WORKER=ROLE[,ROLE]  set a worker's proxy roles, replacing those inferred from worker_app
                             and worker_name (repeatable). Roles: ${ROLES.join(', ')}
  --synapse-version X.Y      Synapse release whose endpoint lists to use (default: the newest)
  --federation-key KEY       inbound federation stickiness: source_ip (default, as the docs) or origin
  --nginx-compatible         hash with nginx_hash (nginx's \`hash $key consistent\`) instead of
                             consistent_hash, so a cut-over from nginx keeps users on warm workers
  --upstream-host HOST       write HOST in every TCP server URL instead of the bind address
                             (use the host your nginx upstream blocks name, e.g. localhost)
  --listen HOST:PORT         the gateway's public listener (default 127.0.0.1:8008, which is also the
                             port of Synapse's stock main listener: pass another one, or move main's
                             listener first; an address a Synapse listener or upstream server uses
                             is refused)
  --admin-listen HOST:PORT   the admin listener (default 127.0.0.1:9000; refused likewise)
  --admin-allow CIDR         allow /_synapse/admin/ from these addresses on the public listener
  --out FILE                 write the routes here (default: stdout)

Exit status: 0 on success (warnings included), 2 on bad usage, unreadable config, or a gateway
listener on a Synapse address.`;

function hostPort(v: string, flag: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', `${flag} ${v}: expected HOST:PORT`);
  return { host: m[1]!.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(m[2]) };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string', multiple: true, default: [] },
      workers: { type: 'string', multiple: true, default: [] },
      role: { type: 'string', multiple: true, default: [] },
      'synapse-version': { type: 'string' },
      'federation-key': { type: 'string', default: 'source_ip' },
      'nginx-compatible': { type: 'boolean', default: false },
      'upstream-host': { type: 'string' },
      listen: { type: 'string' },
      'admin-listen': { type: 'string' },
      'admin-allow': { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
    },
  }).values;
}

function options(v: ReturnType<typeof parse>): Partial<ImportOptions> {
  const key = v['federation-key'];
  if (key !== 'source_ip' && key !== 'origin' && key !== 'federation_origin') {
    throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', `--federation-key ${key}: expected source_ip or origin`);
  }
  return {
    synapseVersion: v['synapse-version'],
    federationKey: key === 'source_ip' ? 'source_ip' : 'federation_origin',
    nginxCompatible: v['nginx-compatible'],
    upstreamHost: v['upstream-host'],
    adminAllow: v['admin-allow'],
    ...(v.listen ? { listen: hostPort(v.listen, '--listen') } : {}),
    ...(v['admin-listen'] ? { admin: hostPort(v['admin-listen'], '--admin-listen') } : {}),
  };
}

/** Runs the command; returns the exit status. */
export async function run(argv: string[]): Promise<number> {
  try {
    const v = parse(argv);
    if (v.config.length === 0) throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', '--config homeserver.yaml is required');
    const result = importSynapse({ configs: v.config, workers: v.workers }, options(v), parseRoleOverrides(v.role), `gateway import-synapse ${argv.join(' ')}`);
    for (const line of warningLines(result)) console.error(line);
    if (v.out) writeFileSync(v.out, result.yaml);
    else process.stdout.write(result.yaml);
    return 0;
  } catch (err) {
    if (err instanceof SynapseConfigError || err instanceof ConfigError) console.error(`gateway import-synapse: ${err.message}`);
    else if (err instanceof Error && /unknown Synapse version|Unknown option|argument/i.test(err.message)) console.error(`gateway import-synapse: ${err.message}`);
    else throw err;
    return 2;
  }
}
