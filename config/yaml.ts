/**
 * YAML loading with positions. Every configuration file (routes.yaml, Synapse's homeserver.yaml and
 * worker files) is read through here so that any later check — schema or semantic — can point at
 * file:line:column of the offending node. Built on the `yaml` package's document API with a
 * LineCounter (its plain `parse()` forgets positions).
 */
import { readFileSync } from 'node:fs';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Tags, type YAMLError } from 'yaml';
import { ConfigError, type ConfigIssue } from './errors.ts';

export { zodIssues } from './zod-issues.ts';

/** A 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** A parsed YAML file: its plain JS value plus a way back from a value path to the source. */
export interface YamlSource {
  readonly file: string;
  readonly value: unknown;
  /** Position of the value at `path`, or of the nearest ancestor that exists. */
  positionOf(path: readonly (string | number)[]): Position;
  /** Position of the key (map) or item (sequence) that `path` ends in; nearest ancestor otherwise. */
  keyPositionOf(path: readonly (string | number)[]): Position;
}

/** How a file is resolved: YAML 1.2 by default; Synapse's files as YAML 1.1 (config/synapse/yaml.ts). */
export interface YamlOptions {
  readonly version?: '1.1' | '1.2';
  readonly customTags?: Tags | ((tags: Tags) => Tags);
}

/** Reads and parses a YAML file; a missing or unreadable file is a ConfigError too. */
export function loadYamlFile(file: string, opts: YamlOptions = {}): YamlSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError([{ file, line: 1, column: 1, severity: 'error', message: `cannot read ${file}: ${reason}`, code: 'yaml_syntax' }]);
  }
  return parseYaml(text, file, opts);
}

/**
 * Parses YAML text (YAML 1.2, plus `<<` merge keys, which PyYAML and so Synapse configs use).
 * Throws a ConfigError listing every syntax error (duplicate keys included: YAML 1.2 §3.2.1.1
 * requires unique keys, and a silently overridden key is a classic outage).
 */
export function parseYaml(text: string, file: string, opts: YamlOptions = {}): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true, ...opts });
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => syntaxIssue(e, lines, file)));
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([{ file, line: 1, column: 1, severity: 'error', message: (err as Error).message, code: 'yaml_syntax' }]);
  }
  const at = (offset: number | undefined): Position => {
    if (offset === undefined) return { line: 1, column: 1 };
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  return {
    file,
    value,
    positionOf: (path) => at(locate(doc, path, false)),
    keyPositionOf: (path) => at(locate(doc, path, true)),
  };
}

function syntaxIssue(e: YAMLError, lines: LineCounter, file: string): ConfigIssue {
  const p = lines.linePos(e.pos[0]);
  return { file, line: p.line, column: p.col, severity: 'error', message: `YAML syntax: ${e.message}`, code: 'yaml_syntax' };
}

type AnyNode = { range?: [number, number, number] | null } | null | undefined;

function offsetOf(n: AnyNode): number | undefined {
  return n?.range ? n.range[0] : undefined;
}

/** Offset of the node at `path` (its key when `wantKey`), or of the deepest ancestor found. */
function locate(doc: Document, path: readonly (string | number)[], wantKey: boolean): number | undefined {
  let node: unknown = doc.contents;
  let best = offsetOf(node as AnyNode);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg));
      if (!pair) return best;
      const keyOffset = offsetOf(pair.key as AnyNode);
      const value = pair.value as AnyNode;
      const emptyValue = isScalar(value) && value.value === null && value.source === '';
      const valueOffset = emptyValue ? undefined : offsetOf(value);
      best = (last && wantKey ? keyOffset : valueOffset ?? keyOffset) ?? best;
      node = pair.value;
    } else if (isSeq(node) && Number.isInteger(Number(seg))) {
      const item = node.items[Number(seg)];
      if (item === undefined) return best;
      best = offsetOf(item as AnyNode) ?? best;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}
