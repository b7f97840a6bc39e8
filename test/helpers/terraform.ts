// The Terraform stack in terraform/, parsed with @cdktf/hcl2json and merged across
// files, for the few rules terraform test cannot check (test/unit/terraform-static.test.ts)
// and for matching the runner's inputs against the declared variables.

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const TERRAFORM_DIR = join(import.meta.dirname, '..', '..', 'terraform');

/** One HCL block as hcl2json renders it: attributes, and nested blocks as arrays. */
export type Block = Record<string, unknown>;

export interface Stack {
  /** resource type → resource name → block. */
  resources: Map<string, Map<string, Block>>;
  data: Map<string, Map<string, Block>>;
  variables: Map<string, Block>;
  outputs: Map<string, Block>;
  locals: Block;
  terraform: Block[];
  providers: Map<string, Block>;
  /** File name → raw text, for rules about comments. */
  sources: Map<string, string>;
}

let cached: Promise<Stack> | undefined;

export function loadStack(): Promise<Stack> {
  cached ??= parseStack(TERRAFORM_DIR);
  return cached;
}

export async function tfFiles(directory = TERRAFORM_DIR): Promise<string[]> {
  return (await readdir(directory)).filter((name) => name.endsWith('.tf')).sort();
}

async function parseStack(directory: string): Promise<Stack> {
  const stack: Stack = {
    resources: new Map(),
    data: new Map(),
    variables: new Map(),
    outputs: new Map(),
    locals: {},
    terraform: [],
    providers: new Map(),
    sources: new Map(),
  };
  for (const file of await tfFiles(directory)) {
    const text = await readFile(join(directory, file), 'utf8');
    stack.sources.set(file, text);
    const json = (await parse(file, text)) as Record<string, unknown>;
    collectTyped(json.resource, stack.resources);
    collectTyped(json.data, stack.data);
    collectNamed(json.variable, stack.variables);
    collectNamed(json.output, stack.outputs);
    collectNamed(json.provider, stack.providers);
    for (const locals of (json.locals as Block[] | undefined) ?? []) Object.assign(stack.locals, locals);
    stack.terraform.push(...((json.terraform as Block[] | undefined) ?? []));
  }
  return stack;
}

function collectTyped(section: unknown, into: Map<string, Map<string, Block>>): void {
  for (const [type, byName] of Object.entries((section ?? {}) as Record<string, Record<string, Block[]>>)) {
    const names = into.get(type) ?? new Map<string, Block>();
    for (const [name, blocks] of Object.entries(byName)) {
      if (names.has(name)) throw new Error(`${type}.${name} is declared twice`);
      names.set(name, blocks[0] as Block);
    }
    into.set(type, names);
  }
}

function collectNamed(section: unknown, into: Map<string, Block>): void {
  for (const [name, blocks] of Object.entries((section ?? {}) as Record<string, Block[]>)) {
    if (into.has(name)) throw new Error(`${name} is declared twice`);
    into.set(name, blocks[0] as Block);
  }
}

/** The one resource of that type and name; throws a readable error when missing. */
export function resource(stack: Stack, type: string, name = 'this'): Block {
  const found = stack.resources.get(type)?.get(name);
  if (!found) throw new Error(`terraform/ has no resource ${type}.${name}`);
  return found;
}

export function resourcesOf(stack: Stack, type: string): Array<[string, Block]> {
  return [...(stack.resources.get(type) ?? new Map<string, Block>()).entries()];
}

/** Every security group rule resource (ingress and egress), with its direction. */
export function securityGroupRules(
  stack: Stack,
): Array<{ address: string; direction: 'ingress' | 'egress'; rule: Block }> {
  return [
    ...resourcesOf(stack, 'aws_vpc_security_group_ingress_rule').map(([name, rule]) => ({
      address: `aws_vpc_security_group_ingress_rule.${name}`,
      direction: 'ingress' as const,
      rule,
    })),
    ...resourcesOf(stack, 'aws_vpc_security_group_egress_rule').map(([name, rule]) => ({
      address: `aws_vpc_security_group_egress_rule.${name}`,
      direction: 'egress' as const,
      rule,
    })),
    ...resourcesOf(stack, 'aws_security_group_rule').map(([name, rule]) => ({
      address: `aws_security_group_rule.${name}`,
      direction: (rule.type === 'egress' ? 'egress' : 'ingress') as 'ingress' | 'egress',
      rule,
    })),
  ];
}
