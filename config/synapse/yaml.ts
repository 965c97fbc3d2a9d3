/**
 * Synapse's files as Synapse reads them: PyYAML's `safe_load`, which is YAML 1.1, so `tls: yes`,
 * `on`/`off` and `no` are booleans (and `0644` octal). Positions and syntax errors come from the
 * config package's reader (../yaml.ts), so every message still points at file:line:column; the
 * value is the same document resolved with the YAML 1.1 schema.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Tags } from 'yaml';
import { ConfigError } from '../errors.ts';
import { loadYamlFile, type YamlSource } from '../yaml.ts';

/**
 * PyYAML's booleans (yaml/resolver.py: yes/Yes/YES/no/No/NO/true/.../on/On/ON/off/Off/OFF). The
 * `yaml` package's 1.1 schema also reads `y`/`n` as booleans; PyYAML keeps those strings.
 */
const PY_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const PY_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;

function pyyamlBooleans(tags: Tags): Tags {
  return tags.map((t) => {
    if (typeof t !== 'object' || t.tag !== 'tag:yaml.org,2002:bool' || !('test' in t) || !t.test) return t;
    return { ...t, test: t.identify?.(true) ? PY_TRUE : PY_FALSE };
  });
}

/** The value of YAML text as PyYAML resolves it (YAML 1.1 scalars, `<<` merge keys). */
export function parseYaml11(text: string, file: string): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { version: '1.1', customTags: pyyamlBooleans, merge: true, uniqueKeys: false, lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => {
      const p = lines.linePos(e.pos[0]);
      return { file, line: p.line, column: p.col, severity: 'error' as const, message: `YAML syntax: ${e.message}`, code: 'yaml_syntax' as const };
    }));
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([{ file, line: 1, column: 1, severity: 'error', message: (err as Error).message, code: 'yaml_syntax' }]);
  }
}

/** Reads a Synapse config file: positions and errors as loadYamlFile, values as PyYAML. */
export function loadSynapseYaml(file: string): YamlSource {
  const src = loadYamlFile(file);
  const value = parseYaml11(readFileSync(file, 'utf8'), file);
  return { file: src.file, value, positionOf: src.positionOf, keyPositionOf: src.keyPositionOf };
}
