/**
 * Loads routes.yaml: YAML with positions, then the zod schema (config/routes-schema.ts), then the
 * semantic checks (config/routes-checks.ts). Every error of a file is reported at once, each as
 * file:line:column with a hint (issue 2, point 5); the result is deep-frozen so nothing
 * downstream can mutate configuration or see raw YAML.
 */
import { ConfigError, sortIssues, type ConfigIssue } from './errors.ts';
import { z } from 'zod';
import { semanticIssues, unsupportedScheme } from './routes-checks.ts';
import { salvage } from './routes-salvage.ts';
import { RoutesFile, type RoutesConfig } from './routes-schema.ts';
import { loadYamlFile, parseYaml, zodIssues, type YamlSource } from './yaml.ts';

/** A validated routes.yaml. */
export interface LoadedRoutes {
  readonly config: RoutesConfig;
  /** Non-fatal findings (shadowed routes, catch-all matches, exposed admin listener), in file order. */
  readonly warnings: readonly ConfigIssue[];
  /** The parsed source, for tools that point back into the file (explain, check). */
  readonly source: YamlSource;
}

/** Reads and validates a routes.yaml file. Throws ConfigError listing every error. */
export function loadRoutesFile(file: string): LoadedRoutes {
  return validate(loadYamlFile(file));
}

/** Validates routes.yaml text; `file` names it in messages. Throws ConfigError listing every error. */
export function parseRoutes(text: string, file: string): LoadedRoutes {
  return validate(parseYaml(text, file));
}

function validate(src: YamlSource): LoadedRoutes {
  if (src.value === null || src.value === undefined) {
    throw new ConfigError([{ file: src.file, line: 1, column: 1, severity: 'error', code: 'empty_file',
      message: 'the file is empty', hint: 'a routes file needs at least `upstreams:` (see config/examples/minimal.routes.yaml)' }]);
  }
  const parsed = RoutesFile.safeParse(src.value);
  if (!parsed.success) throw new ConfigError([...schemaIssues(src, parsed.error), ...salvagedIssues(src, parsed.error)]);
  const issues = semanticIssues(parsed.data, src);
  if (issues.some((i) => i.severity === 'error')) throw new ConfigError(issues);
  return Object.freeze({
    config: deepFreeze(parsed.data),
    warnings: Object.freeze(sortIssues(issues)),
    source: src,
  });
}

/** The schema's issues, an unsupported server url scheme (https://, ...) told as such with a hint. */
function schemaIssues(src: YamlSource, error: z.ZodError): ConfigIssue[] {
  const schemes: ConfigIssue[] = [];
  const rest = error.issues.filter((issue) => {
    const found = unsupportedScheme(src, issue);
    if (found) schemes.push(found);
    return !found;
  });
  return [...zodIssues(src, new z.ZodError(rest), RoutesFile), ...schemes];
}

/** Semantic findings in the parts of a file the schema accepted (so one run reports everything). */
function salvagedIssues(src: YamlSource, error: z.ZodError): ConfigIssue[] {
  const partial = salvage(src.value, error.issues);
  if (!partial) return [];
  const again = RoutesFile.safeParse(partial.value);
  return again.success ? semanticIssues(again.data, src, partial.ignore) : [];
}

/** Freezes an object graph (plain data only: zod output has no cycles or class instances). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
