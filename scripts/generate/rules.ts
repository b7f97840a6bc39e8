// Reads the limits of one input out of the JSON Schema of deploy.yaml (or out of a node
// written in limits.ts) as a small list of rules each generator renders in its own language.

import { configJsonSchema } from '../../pipeline/config/schema.ts';
import type { Node, Source } from './limits.ts';

export type Rule =
  | { kind: 'range'; min: number; max: number; whole: boolean }
  | { kind: 'pattern'; pattern: string }
  | { kind: 'maxLength'; max: number }
  | { kind: 'enum'; values: Array<string | number> }
  | { kind: 'items'; min?: number; max?: number }
  | { kind: 'itemPattern'; pattern: string };

export interface Limits {
  /** Where the limits come from, for messages and comments: a deploy.yaml key or why not. */
  origin: string;
  node: Node;
  /** An optional key without a default: absent is allowed. */
  optional: boolean;
  rules: Rule[];
  /** What is allowed, in words, for error messages. */
  allowed: string;
}

type ObjectNode = Node & { required?: string[] };

/** The node at a dotted schema path; `<name>` walks into a record (a trailing `<name>` is the key itself), `[]` into a list's items. */
export function nodeAt(path: string, root: ObjectNode = configJsonSchema() as ObjectNode): [Node, boolean] {
  const parts = path.split('.');
  let node: ObjectNode = root;
  let optional = false;
  for (const [index, part] of parts.entries()) {
    const last = index === parts.length - 1;
    if (part === '[]') {
      // A list's items: the path goes on inside one item.
      if (!node.items) throw new Error(`schema path ${path}: ${parts.slice(0, index).join('.')} is no list`);
      node = node.items as ObjectNode;
      continue;
    }
    if (part === '<name>') {
      if (last) {
        const pattern = node.propertyNames?.pattern;
        if (!pattern) throw new Error(`schema path ${path}: the record has no key pattern`);
        return [{ type: 'string', pattern, description: `Key of ${parts.slice(0, index).join('.')}.` }, false];
      }
      if (typeof node.additionalProperties !== 'object') throw new Error(`schema path ${path}: ${part} is no record`);
      node = node.additionalProperties as ObjectNode;
      continue;
    }
    const child = node.properties?.[part] as ObjectNode | undefined;
    if (!child) throw new Error(`schema path ${path}: no key ${part}`);
    optional = !(node.required ?? []).includes(part) && child.default === undefined;
    node = child;
  }
  return [node, optional];
}

function anchored(pattern: string): string {
  if (!pattern.startsWith('^') || !pattern.endsWith('$')) throw new Error(`pattern ${pattern} is not anchored`);
  // Terraform and Packer check patterns with Go's RE2, which has no look-around and no
  // back-references: such a pattern passes every test with an empty list and fails the
  // first real bake, so it is refused here.
  if (/\(\?<?[=!]|\\[1-9]/.test(pattern))
    throw new Error(`pattern ${pattern} uses look-around or a back-reference, which Go's RE2 refuses`);
  return pattern;
}

function rulesOf(node: Node): Rule[] {
  const rules: Rule[] = [];
  if (node.enum) rules.push({ kind: 'enum', values: node.enum });
  if (node.minimum !== undefined && node.maximum !== undefined) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    rules.push({ kind: 'range', min: node.minimum, max: node.maximum, whole: types.includes('integer') });
  }
  if (node.pattern) rules.push({ kind: 'pattern', pattern: anchored(node.pattern) });
  if (node.maxLength !== undefined) rules.push({ kind: 'maxLength', max: node.maxLength });
  if (node.minItems !== undefined || node.maxItems !== undefined)
    rules.push({ kind: 'items', min: node.minItems, max: node.maxItems });
  if (node.items?.pattern) rules.push({ kind: 'itemPattern', pattern: anchored(node.items.pattern) });
  return rules;
}

function allowedOf(node: Node): string {
  if (node.enum) return `one of ${node.enum.join(', ')}`;
  const parts: string[] = [];
  if (node.minimum !== undefined && node.maximum !== undefined) {
    const whole = (Array.isArray(node.type) ? node.type : [node.type]).includes('integer');
    parts.push(`${whole ? 'a whole number' : 'a number'} from ${node.minimum} to ${node.maximum}`);
  }
  if (node.pattern) parts.push(`a string matching ${node.pattern}`);
  if (node.maxLength !== undefined) parts.push(`at most ${node.maxLength} characters`);
  if (node.minItems !== undefined || node.maxItems !== undefined)
    parts.push(`a list of ${node.minItems ?? 0} to ${node.maxItems ?? 'any number of'} items`);
  if (node.items?.pattern) parts.push(`each matching ${node.items.pattern}`);
  return parts.join(', ');
}

export function limitsOf(source: Source): Limits {
  if ('own' in source) {
    return {
      origin: source.why,
      node: source.own,
      optional: false,
      rules: rulesOf(source.own),
      allowed: allowedOf(source.own),
    };
  }
  const [node, optional] = nodeAt(source.schema);
  return { origin: `deploy.yaml ${source.schema}`, node, optional, rules: rulesOf(node), allowed: allowedOf(node) };
}

/** A generated file's header lines, before the language's comment marker is added. */
export const GENERATED_BY =
  'Generated by scripts/generate-schema.ts (npm run generate) from pipeline/config/schema.ts\n' +
  'through the mapping in scripts/generate/limits.ts. Do not edit: change those and regenerate.';
