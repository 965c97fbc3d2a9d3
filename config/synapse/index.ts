/**
 * `import-synapse` as a library: read a Synapse worker deployment, infer the roles only the
 * reverse proxy knows, plan routes and write a commented routes.yaml (issue 4, point 1).
 */
import { emitRoutesYaml, formatWarning } from './emit.ts';
import type { ImportOptions, ImportPlan } from './model.ts';
import { planImport } from './plan.ts';
import { expandWorkerPaths, readDeployment, type DeploymentFiles } from './read.ts';
import { inferRoles } from './roles.ts';
import type { Deployment, RoleOverrides } from './types.ts';

export type { ImportOptions, ImportPlan } from './model.ts';
export type { Deployment, ImportWarning, Role, RoleOverrides } from './types.ts';
export { ROLES, SynapseConfigError } from './types.ts';
export { parseRoleOverrides, LEGACY_APP_ROLES, DOCKER_TYPE_ROLES } from './roles.ts';
export { formatWarning } from './emit.ts';

/** The result of an import. */
export interface ImportResult {
  readonly deployment: Deployment;
  readonly plan: ImportPlan;
  /** The commented routes.yaml. */
  readonly yaml: string;
}

/** Default options: docs-faithful policies, gateway on 127.0.0.1:8008, admin on 127.0.0.1:9000. */
export const DEFAULT_IMPORT_OPTIONS: ImportOptions = Object.freeze({
  federationKey: 'source_ip',
  nginxCompatible: false,
  listen: { host: '127.0.0.1', port: 8008 },
  admin: { host: '127.0.0.1', port: 9000 },
});

/** Runs the whole import. Throws SynapseConfigError / ConfigError for unusable input. */
export function importSynapse(files: DeploymentFiles, options: Partial<ImportOptions> = {}, overrides: RoleOverrides = new Map(), command?: string): ImportResult {
  const opts: ImportOptions = { ...DEFAULT_IMPORT_OPTIONS, ...options };
  const deployment = readDeployment(files);
  inferRoles(deployment, overrides);
  const plan = planImport(deployment, opts);
  const yaml = emitRoutesYaml(plan, { configs: deployment.shared.files, workerFiles: expandWorkerPaths(files.workers), command });
  return { deployment, plan, yaml };
}

/** Every warning as one printable line. */
export function warningLines(result: ImportResult): string[] {
  return result.plan.warnings.map(formatWarning);
}
