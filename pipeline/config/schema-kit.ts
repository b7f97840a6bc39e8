// A small schema kit: one declaration gives the TypeScript type (Infer), the validator
// (with defaults applied and every issue collected, each with its field path) and the
// JSON Schema for editors. Written here rather than pulled in because we need three
// things most libraries do not do together: all errors at once, "did you mean" for
// unknown keys, and messages that name the value and what is allowed.

import type { ConfigIssue } from '../errors.ts';
import { suggest } from './suggest.ts';

export interface Schema<T> {
  readonly description: string;
  /** Validates `value` at `path`; pushes issues; returns the value with defaults applied. */
  check(value: unknown, path: string, issues: ConfigIssue[]): T | undefined;
  /** The default used when the field is absent, if any. */
  readonly fallback: (() => T) | undefined;
  jsonSchema(): Record<string, unknown>;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

/** Renders a value for an error message: short, unambiguous about its type. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

interface Common<T> {
  description: string;
  default?: T;
}

/** A number within bounds; `whole` decides between integers and any finite number. */
function bounded(options: Common<number> & { min: number; max: number }, whole: boolean): Schema<number> {
  const kind = whole ? 'a whole number' : 'a number';
  return {
    description: options.description,
    fallback: options.default === undefined ? undefined : () => options.default as number,
    check(value, path, issues) {
      if (typeof value !== 'number' || !(whole ? Number.isInteger(value) : Number.isFinite(value))) {
        issues.push({
          path,
          message: `${show(value)} is not allowed: expected ${kind} from ${options.min} to ${options.max}`,
        });
        return undefined;
      }
      if (value < options.min || value > options.max) {
        issues.push({ path, message: `${value} is out of range: expected ${options.min} to ${options.max}` });
        return undefined;
      }
      return value;
    },
    jsonSchema: () => ({
      type: whole ? 'integer' : 'number',
      minimum: options.min,
      maximum: options.max,
      description: options.description,
      ...(options.default === undefined ? {} : { default: options.default }),
    }),
  };
}

export function integer(options: Common<number> & { min: number; max: number }): Schema<number> {
  return bounded(options, true);
}

/** A whole number from a fixed set (AWS's own lists, such as CloudWatch's retention periods). */
export function integerIn(values: readonly number[], options: Common<number>): Schema<number> {
  return {
    description: options.description,
    fallback: options.default === undefined ? undefined : () => options.default as number,
    check(value, path, issues) {
      if (typeof value === 'number' && values.includes(value)) return value;
      issues.push({ path, message: `${show(value)} is not allowed: expected one of ${values.join(', ')}` });
      return undefined;
    },
    jsonSchema: () => ({
      type: 'integer',
      enum: [...values],
      description: options.description,
      ...(options.default === undefined ? {} : { default: options.default }),
    }),
  };
}

export function string(
  options: Common<string> & { pattern?: RegExp; allowed?: string; maxLength?: number },
): Schema<string> {
  return {
    description: options.description,
    fallback: options.default === undefined ? undefined : () => options.default as string,
    check(value, path, issues) {
      const allowed = options.allowed ?? 'a string';
      if (typeof value !== 'string') {
        issues.push({ path, message: `${show(value)} is not allowed: expected ${allowed}` });
        return undefined;
      }
      if (options.maxLength !== undefined && value.length > options.maxLength) {
        issues.push({
          path,
          message: `${show(value)} is ${value.length} characters long: at most ${options.maxLength} allowed (${allowed})`,
        });
        return undefined;
      }
      if (options.pattern && !options.pattern.test(value)) {
        issues.push({ path, message: `${show(value)} is not allowed: expected ${allowed}` });
        return undefined;
      }
      return value;
    },
    jsonSchema: () => ({
      type: 'string',
      description: options.description,
      ...(options.pattern ? { pattern: options.pattern.source } : {}),
      ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength }),
      ...(options.default === undefined ? {} : { default: options.default }),
    }),
  };
}

export function oneOf<const V extends string>(values: readonly V[], options: Common<V>): Schema<V> {
  return {
    description: options.description,
    fallback: options.default === undefined ? undefined : () => options.default as V,
    check(value, path, issues) {
      if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as V;
      const hint = typeof value === 'string' ? suggest(value, values) : undefined;
      issues.push({
        path,
        message: `${show(value)} is not allowed: expected one of ${values.join(', ')}${hint ? ` (did you mean "${hint}"?)` : ''}`,
      });
      return undefined;
    },
    jsonSchema: () => ({
      enum: [...values],
      description: options.description,
      ...(options.default === undefined ? {} : { default: options.default }),
    }),
  };
}

export function list<T>(
  item: Schema<T>,
  options: { description: string; minItems?: number; maxItems?: number },
): Schema<T[]> {
  return {
    description: options.description,
    fallback: undefined,
    check(value, path, issues) {
      if (!Array.isArray(value)) {
        issues.push({ path, message: `${show(value)} is not allowed: expected a list` });
        return undefined;
      }
      const min = options.minItems ?? 0;
      if (value.length < min || (options.maxItems !== undefined && value.length > options.maxItems)) {
        const bound = options.maxItems === undefined ? `at least ${min}` : `${min} to ${options.maxItems}`;
        issues.push({ path, message: `has ${value.length} item(s): expected ${bound}` });
        return undefined;
      }
      const out: T[] = [];
      value.forEach((element, index) => {
        const checked = item.check(element, `${path}[${index}]`, issues);
        if (checked !== undefined) out.push(checked);
      });
      return out.length === value.length ? out : undefined;
    },
    jsonSchema: () => ({
      type: 'array',
      description: options.description,
      items: item.jsonSchema(),
      ...(options.minItems === undefined ? {} : { minItems: options.minItems }),
      ...(options.maxItems === undefined ? {} : { maxItems: options.maxItems }),
    }),
  };
}

/** Marks a field as optional without a default: absent stays undefined. */
export interface Optional<T> extends Schema<T | undefined> {
  readonly optional: true;
}

export function optional<T>(schema: Schema<T>): Optional<T> {
  return { ...schema, optional: true, fallback: undefined };
}

type Fields = Record<string, Schema<unknown>>;
type RequiredKeys<F extends Fields> = { [K in keyof F]: F[K] extends Optional<unknown> ? never : K }[keyof F];
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends Optional<unknown> ? K : never }[keyof F];
export type ObjectOf<F extends Fields> = { [K in RequiredKeys<F>]: Infer<F[K]> } & {
  [K in OptionalKeys<F>]?: Exclude<Infer<F[K]>, undefined>;
};

function isOptional(schema: Schema<unknown>): boolean {
  return (schema as Partial<Optional<unknown>>).optional === true;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function object<F extends Fields>(
  fields: F,
  options: { description: string; defaultToEmpty?: boolean },
): Schema<ObjectOf<F>> {
  const keys = Object.keys(fields);
  const schema: Schema<ObjectOf<F>> = {
    description: options.description,
    fallback: options.defaultToEmpty ? () => schema.check({}, '', []) as ObjectOf<F> : undefined,
    check(value, path, issues) {
      if (value === null && options.defaultToEmpty) value = {};
      if (!isMapping(value)) {
        issues.push({
          path,
          message: `${show(value)} is not allowed: expected a mapping with keys ${keys.join(', ')}`,
        });
        return undefined;
      }
      const before = issues.length;
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(fields, key)) {
          const hint = suggest(key, keys);
          issues.push({
            path: join(path, key),
            message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed keys: ${keys.join(', ')}`,
          });
        }
      }
      const out: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(fields)) {
        const present = value[key] !== undefined;
        if (!present) {
          if (field.fallback) out[key] = field.fallback();
          else if (!isOptional(field))
            issues.push({ path: join(path, key), message: `is required: ${field.description}` });
          continue;
        }
        const checked = field.check(value[key], join(path, key), issues);
        if (checked !== undefined) out[key] = checked;
      }
      return issues.length === before ? (out as ObjectOf<F>) : undefined;
    },
    jsonSchema: () => ({
      type: 'object',
      description: options.description,
      additionalProperties: false,
      properties: Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, field.jsonSchema()])),
      required: keys.filter(
        (key) => !isOptional(fields[key] as Schema<unknown>) && !(fields[key] as Schema<unknown>).fallback,
      ),
    }),
  };
  return schema;
}

/** A mapping from user-chosen names (matching keyPattern) to values of one schema. */
export function record<T>(
  value: Schema<T>,
  options: { description: string; keyPattern: RegExp; keyAllowed: string; minEntries?: number },
): Schema<Record<string, T>> {
  return {
    description: options.description,
    fallback: undefined,
    check(input, path, issues) {
      if (!isMapping(input)) {
        issues.push({
          path,
          message: `${show(input)} is not allowed: expected a mapping of names to ${value.description}`,
        });
        return undefined;
      }
      const entries = Object.entries(input);
      if (entries.length < (options.minEntries ?? 0)) {
        issues.push({ path, message: `is empty: define at least ${options.minEntries} entry` });
        return undefined;
      }
      const before = issues.length;
      const out: Record<string, T> = {};
      for (const [key, element] of entries) {
        if (!options.keyPattern.test(key)) {
          issues.push({
            path: join(path, key),
            message: `name ${JSON.stringify(key)} is not allowed: expected ${options.keyAllowed}`,
          });
          continue;
        }
        const checked = value.check(element, join(path, key), issues);
        if (checked !== undefined) out[key] = checked;
      }
      return issues.length === before ? out : undefined;
    },
    jsonSchema: () => ({
      type: 'object',
      description: options.description,
      propertyNames: { pattern: options.keyPattern.source },
      additionalProperties: value.jsonSchema(),
      ...(options.minEntries === undefined ? {} : { minProperties: options.minEntries }),
    }),
  };
}

/** Adds cross-field rules to a schema; they run only when the value itself is valid. */
export function refine<T>(schema: Schema<T>, rule: (value: T, path: string) => ConfigIssue[]): Schema<T> {
  return {
    ...schema,
    check(value, path, issues) {
      const checked = schema.check(value, path, issues);
      if (checked === undefined) return undefined;
      const found = rule(checked, path);
      issues.push(...found);
      return found.length === 0 ? checked : undefined;
    },
  };
}

/** A number with a fractional part allowed (rates, ratios). */
export function decimal(options: Common<number> & { min: number; max: number }): Schema<number> {
  return bounded(options, false);
}

/**
 * A field that may also be written as `null` (or, with `offValues`, as 0 or false) to
 * mean "off": those give `off`; anything else is checked by `schema`.
 */
export function orOff<T>(schema: Schema<T>, off: T, options: { offValues?: readonly unknown[] } = {}): Schema<T> {
  const offValues = [null, ...(options.offValues ?? [])];
  return {
    ...schema,
    check: (value, path, issues) => (offValues.includes(value) ? off : schema.check(value, path, issues)),
    jsonSchema: () => {
      const inner = schema.jsonSchema();
      return { ...inner, type: [inner.type, 'null', ...(options.offValues?.includes(0) ? ['integer'] : [])] };
    },
  };
}

/** true or false. */
export function boolean(options: Common<boolean>): Schema<boolean> {
  return {
    description: options.description,
    fallback: options.default === undefined ? undefined : () => options.default as boolean,
    check(value, path, issues) {
      if (typeof value === 'boolean') return value;
      issues.push({ path, message: `${show(value)} is not allowed: expected true or false` });
      return undefined;
    },
    jsonSchema: () => ({
      type: 'boolean',
      description: options.description,
      ...(options.default === undefined ? {} : { default: options.default }),
    }),
  };
}
