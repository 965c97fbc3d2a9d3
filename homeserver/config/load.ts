/**
 * Reads `--config` files the way Synapse reads `--config-file`: later files override earlier ones
 * key by key at the top level. Errors point at file:line:column of whichever file set the key.
 */
import { z } from 'zod';
import { loadYamlFile, zodIssues, type YamlSource } from '../../config/yaml.ts';
import { ConfigError, type ConfigIssue } from '../../config/errors.ts';
import { HomeserverConfig, KNOWN_KEYS } from './schema.ts';

/** A validated configuration plus the Synapse keys it carried but this server ignores. */
export interface LoadedConfig {
  config: HomeserverConfig;
  ignoredKeys: string[];
  files: string[];
}

/** Loads and merges the files, validates the result; throws ConfigError listing every problem. */
export function loadHomeserverConfig(files: readonly string[]): LoadedConfig {
  const sources = files.map((f) => loadYamlFile(f));
  return validateSources(sources);
}

/** Validates already-parsed sources (tests use this with in-memory YAML). */
export function validateSources(sources: readonly YamlSource[]): LoadedConfig {
  const merged: Record<string, unknown> = {};
  const owner = new Map<string, YamlSource>();
  const issues: ConfigIssue[] = [];
  for (const src of sources) {
    if (src.value === null || typeof src.value !== 'object' || Array.isArray(src.value)) {
      issues.push({ file: src.file, line: 1, column: 1, severity: 'error', message: 'expected a mapping of configuration keys', code: 'invalid_type' });
      continue;
    }
    for (const [k, v] of Object.entries(src.value)) {
      merged[k] = v;
      owner.set(k, src);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const parsed = HomeserverConfig.safeParse(merged);
  if (!parsed.success) throw new ConfigError(issuesBySource(parsed.error, owner, sources));
  const ignoredKeys = Object.keys(merged).filter((k) => !KNOWN_KEYS.has(k)).sort();
  return { config: parsed.data, ignoredKeys, files: sources.map((s) => s.file) };
}

/** Routes each zod issue to the file that defined its top-level key (missing keys: the last file). */
function issuesBySource(error: z.ZodError, owner: Map<string, YamlSource>, sources: readonly YamlSource[]): ConfigIssue[] {
  const groups = new Map<YamlSource, z.core.$ZodIssue[]>();
  const fallback = sources[sources.length - 1]!;
  for (const issue of error.issues) {
    const src = owner.get(String(issue.path[0])) ?? sources.find((s) => s.file === fallback.file)!;
    groups.set(src, [...(groups.get(src) ?? []), issue]);
  }
  const out: ConfigIssue[] = [];
  for (const [src, list] of groups) out.push(...zodIssues(src, new z.ZodError(list), HomeserverConfig));
  return out;
}
