/**
 * Synapse's files as Synapse reads them: PyYAML's `safe_load`, which is YAML 1.1, so `tls: yes`,
 * `on`/`off` and `no` are booleans (and `0644` octal). Read through the config package's reader
 * (../yaml.ts) with the YAML 1.1 schema, so every message still points at file:line:column.
 */
import type { Tags } from 'yaml';
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

/**
 * Reads a Synapse config file: values as PyYAML resolves them (YAML 1.1 scalars, PyYAML's
 * booleans, `<<` merge keys), positions and syntax errors as every other file's. Duplicate keys
 * stay an error (PyYAML would keep the last).
 */
export function loadSynapseYaml(file: string): YamlSource {
  return loadYamlFile(file, { version: '1.1', customTags: pyyamlBooleans });
}
