/**
 * Turns zod validation issues into ConfigIssues pinned to the YAML source, with hints an operator
 * can act on: an unknown key names the nearest allowed key, a bad enum value the nearest option,
 * a failed union the one branch the input was evidently aiming at (not all of them).
 * Re-exported by config/yaml.ts, which is where callers import it from.
 */
import { z } from 'zod';
import { choiceHint, nearest, type ConfigIssue, type IssueCode } from './errors.ts';
import type { YamlSource } from './yaml.ts';

type Path = (string | number)[];
type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;

/**
 * Maps every issue of `error` to source positions. Pass the schema that produced the error to get
 * did-you-mean hints for unknown keys (zod's `unrecognized_keys` does not say what was allowed).
 */
export function zodIssues(src: YamlSource, error: z.ZodError, schema?: Schema): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) convert({ src, schema, out }, issue, []);
  return out;
}

interface Ctx {
  src: YamlSource;
  schema: Schema | undefined;
  out: ConfigIssue[];
}

function convert(ctx: Ctx, issue: Issue, prefix: Path): void {
  const path: Path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
  const value = valueAt(ctx.src.value, path);
  const push = (at: Path, message: string, code: IssueCode, hint?: string, key = false): void => {
    const pos = key ? ctx.src.keyPositionOf(at) : ctx.src.positionOf(at);
    ctx.out.push({ file: ctx.src.file, ...pos, severity: 'error', message, code, ...(hint ? { hint } : {}) });
  };
  switch (issue.code) {
    case 'unrecognized_keys':
      return unknownKeys(ctx, issue.keys, path, push);
    case 'invalid_union':
      return convertUnion(ctx, issue, path, value, push);
    case 'invalid_type':
      if (value !== undefined || path.length === 0) {
        const quote = issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean');
        push(path, `expected ${issue.expected}, got ${typeName(value)}${where(path)}`, 'invalid_type',
          quote ? `put the value in quotes: unquoted, YAML reads it as a ${typeof value}${typeof value === 'number' ? ' (1.90 becomes 1.9)' : ''}` : undefined);
      } else if (!misspelled(ctx, path)) {
        push(path.slice(0, -1), `missing required key '${String(path.at(-1))}'${where(path.slice(0, -1))}`, 'missing_key');
      }
      return;
    case 'invalid_value': {
      const options = issue.values.map(String);
      push(path, `invalid value ${JSON.stringify(value)}${where(path)}`, 'invalid_value', choiceHint(String(value), options, 'expected one of'));
      return;
    }
    case 'too_small':
    case 'too_big':
      return push(path, `${boundMessage(issue, value)}${where(path)}`, 'invalid_value');
    default:
      push(path, `${issue.message}${where(path)}`, 'invalid_value');
  }
}

function unknownKeys(ctx: Ctx, keys: readonly string[], path: Path, push: Push): void {
  const allowed = ctx.schema ? allowedKeys(ctx.schema, path, ctx.src.value) : [];
  for (const key of keys) {
    if (allowed.includes(key)) {
      // Valid in another member of a union (e.g. `{header: x, query: y}` as a key): one form only.
      const shape = schemaAt(ctx.schema!, path, ctx.src.value);
      push([...path, key], `'${key}' cannot be combined with the other keys here${where(path)}`, 'unknown_key', shape ? `expected ${describe(shape)}` : undefined, true);
    } else {
      push([...path, key], `unknown key '${key}'${where(path)}`, 'unknown_key', allowed.length > 0 ? choiceHint(key, allowed, 'allowed keys') : undefined, true);
    }
  }
}

/** True when the missing key at `path` is present under a misspelt name (reported as unknown key). */
function misspelled(ctx: Ctx, path: Path): boolean {
  const parent = path.slice(0, -1);
  const here = valueAt(ctx.src.value, parent);
  if (!ctx.schema || typeof here !== 'object' || here === null) return false;
  const allowed = allowedKeys(ctx.schema, parent, ctx.src.value);
  return Object.keys(here).some((k) => !allowed.includes(k) && nearest(k, allowed) === path.at(-1));
}

/** zod's own bound messages ("Too small: expected number to be >=1") reworded; custom messages kept. */
function boundMessage(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>, value: unknown): string {
  if (!/^Too (small|big)/.test(issue.message)) return issue.message;
  const small = issue.code === 'too_small';
  const limit = small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum;
  const op = `${small ? '>' : '<'}${issue.inclusive ? '=' : ''}`;
  if (issue.origin === 'array') return `needs ${small ? 'at least' : 'at most'} ${String(limit)} item(s)`;
  if (issue.origin === 'string') return `needs ${small ? 'at least' : 'at most'} ${String(limit)} character(s)`;
  return `must be ${op} ${String(limit)}, got ${JSON.stringify(value)}`;
}

type Push = (at: Path, message: string, code: IssueCode, hint?: string, key?: boolean) => void;

function convertUnion(ctx: Ctx, issue: Extract<Issue, { code: 'invalid_union' }>, path: Path, value: unknown, push: Push): void {
  if (issue.errors.length === 0 && 'options' in issue && issue.discriminator !== undefined) {
    const options = (issue.options ?? []).map(String);
    if (value === undefined) push(path.slice(0, -1), `missing required key '${issue.discriminator}'`, 'missing_key', `one of ${options.join(', ')}`);
    else push(path, `unknown ${issue.discriminator} ${JSON.stringify(value)}`, 'invalid_value', choiceHint(String(value), options, 'expected one of'));
    return;
  }
  const branch = pickBranch(issue.errors, value);
  if (branch) {
    for (const sub of branch) convert(ctx, sub, path);
    return;
  }
  const shape = ctx.schema ? schemaAt(ctx.schema, path, ctx.src.value) : undefined;
  push(path, `invalid value ${JSON.stringify(value)}${where(path)}`, 'invalid_value', shape ? `expected ${describe(shape)}` : undefined);
}

/**
 * The union branch the input was aiming at: for a string, the enum branch; for a mapping, a
 * branch whose object shape it entered (no type error at the union's own level), preferring one
 * whose keys all matched; null when no branch fits (the caller then lists the accepted forms).
 */
function pickBranch(branches: Issue[][], value: unknown): Issue[] | null {
  const atRoot = (i: Issue): boolean => i.path.length === 0;
  if (typeof value === 'string') {
    return branches.find((b) => b.length === 1 && atRoot(b[0]!) && b[0]!.code === 'invalid_value') ?? null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const entered = branches.filter((b) => b.every((i) => !atRoot(i) || i.code === 'unrecognized_keys'));
  const clean = entered.filter((b) => !b.some((i) => atRoot(i) && i.code === 'unrecognized_keys'));
  const pool = clean.length > 0 ? clean : entered;
  if (pool.length === 0) return null;
  const best = pool.reduce((a, b) => (b.length < a.length ? b : a));
  if (clean.length > 0) return best;
  // Every branch rejected a key: report only the unknown key(s), once.
  return best.filter((i) => atRoot(i) && i.code === 'unrecognized_keys');
}

/** The JS value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function typeName(v: unknown): string {
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function where(path: Path): string {
  return path.length > 0 ? ` in ${path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replaceAll('.[', '[')}` : '';
}

/** Strips wrappers that do not change the shape of the input (default, optional, pipes, ...). */
function unwrap(s: Schema): Schema {
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodReadonly) {
      s = s.unwrap() as Schema;
    } else if (s instanceof z.ZodPipe) {
      s = s.in as Schema;
    } else {
      return s;
    }
  }
}

function objectOptions(u: z.ZodUnion, value: unknown): z.ZodObject[] {
  const objects = u.options.map((o) => unwrap(o as Schema)).filter((o): o is z.ZodObject => o instanceof z.ZodObject);
  const disc = u instanceof z.ZodDiscriminatedUnion ? (u.def.discriminator as string) : undefined;
  const tag = disc !== undefined ? valueAt(value, [disc]) : undefined;
  if (disc === undefined || tag === undefined) return objects;
  const matching = objects.filter((o) => {
    const lit = o.shape[disc];
    return lit instanceof z.ZodLiteral && lit.values.has(tag as never);
  });
  return matching.length > 0 ? matching : objects;
}

/** The schema that validates the value at `path` (best effort through unions), or undefined. */
export function schemaAt(root: Schema, path: Path, rootValue: unknown): Schema | undefined {
  let s: Schema | undefined = root;
  for (let i = 0; i < path.length && s; i++) {
    const seg = path[i]!;
    const u: Schema = unwrap(s);
    if (u instanceof z.ZodObject) s = u.shape[String(seg)] as Schema | undefined;
    else if (u instanceof z.ZodArray) s = u.element as Schema;
    else if (u instanceof z.ZodRecord) s = u.valueType as Schema;
    else if (u instanceof z.ZodUnion) s = objectOptions(u, valueAt(rootValue, path.slice(0, i))).map((o) => o.shape[String(seg)] as Schema | undefined).find((x) => x);
    else s = undefined;
  }
  return s;
}

/** Keys the mapping at `path` may have. */
function allowedKeys(root: Schema, path: Path, rootValue: unknown): string[] {
  const s = schemaAt(root, path, rootValue);
  if (!s) return [];
  const u = unwrap(s);
  if (u instanceof z.ZodObject) return Object.keys(u.shape);
  if (u instanceof z.ZodUnion) return [...new Set(objectOptions(u, valueAt(rootValue, path)).flatMap((o) => Object.keys(o.shape)))];
  return [];
}

/** A short human description of what a schema accepts, for hints. */
export function describe(s: Schema): string {
  const u = unwrap(s);
  if (u instanceof z.ZodEnum) return u.options.map((o) => `'${String(o)}'`).join(', ');
  if (u instanceof z.ZodLiteral) return [...u.values].map((v) => JSON.stringify(v)).join(', ');
  if (u instanceof z.ZodObject) return `{${Object.keys(u.shape).join(', ')}}`;
  if (u instanceof z.ZodUnion) return u.options.map((o) => describe(o as Schema)).join(' or ');
  if (u instanceof z.ZodArray) return 'a list';
  return u._zod.def.type;
}
