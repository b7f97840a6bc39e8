// Renders each role's meta/argument_specs.yml (Ansible checks types and choices before the
// role's first task) and tasks/arguments.yml, the role's first tasks: the limits argument
// specs cannot express (ranges, patterns, lengths, cross-field rules) as asserts whose
// message names the variable, its value and what is allowed.

import { Scalar, stringify } from 'yaml';
import { GENERATED_BY, limitsOf, type Limits, type Rule } from './rules.ts';
import type { Role } from './limits.ts';

function comment(text: string): string {
  return text
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
}

function header(extra: string): string {
  return `---\n${comment(`${GENERATED_BY}\n${extra}`)}\n`;
}

export function renderArgumentSpecs(role: Role): string {
  const options: Record<string, Record<string, unknown>> = {};
  for (const [name, option] of Object.entries(role.options)) {
    const limits = limitsOf(option.value);
    const description = [limits.node.description ?? name];
    if (limits.allowed) description.push(`Allowed: ${limits.allowed}.`);
    description.push(`(${limits.origin})`);
    options[name] = {
      type: option.type,
      ...(option.elements ? { elements: option.elements } : {}),
      ...(limits.node.enum ? { choices: limits.node.enum } : {}),
      description: description.join(' '),
    };
  }
  const spec = { argument_specs: { main: { short_description: role.short_description, options } } };
  return `${header('Types and choices; the other limits are checked by tasks/arguments.yml.')}${stringify(spec, { lineWidth: 100 })}`;
}

/** The Jinja tests of one rule; patterns are passed as task variables, so no escaping reaches Jinja. */
function testsOf(name: string, rule: Rule, patternVar: string): string[] {
  switch (rule.kind) {
    case 'enum':
      return []; // choices in the argument spec
    case 'range':
      return [
        ...(rule.whole ? [`(${name} | string) is match('^-?[0-9]+$')`] : []),
        `${name} | float >= ${rule.min}`,
        `${name} | float <= ${rule.max}`,
      ];
    case 'pattern':
      return [`(${name} | string) is match(${patternVar})`];
    case 'maxLength':
      return [`${name} | length <= ${rule.max}`];
    case 'items':
      return [
        ...(rule.min !== undefined ? [`${name} | length >= ${rule.min}`] : []),
        ...(rule.max !== undefined ? [`${name} | length <= ${rule.max}`] : []),
      ];
    case 'itemPattern':
      return [`${name} | reject('match', ${patternVar}) | list | length == 0`];
  }
}

/** A double-quoted scalar, which YAML may fold at any character: a long pattern stays within the line limit. */
function foldable(text: string): Scalar {
  const scalar = new Scalar(text);
  scalar.type = 'QUOTE_DOUBLE';
  return scalar;
}

function checkTask(role: Role, name: string, limits: Limits): Record<string, unknown> | undefined {
  const patternVar = `${role.name}_argument_pattern`;
  const that = limits.rules.flatMap((rule) => testsOf(name, rule, patternVar));
  if (!that.length) return undefined;
  const pattern = limits.rules.find((rule) => rule.kind === 'pattern' || rule.kind === 'itemPattern') as
    { pattern: string } | undefined;
  return {
    name: `Check ${name}`,
    'ansible.builtin.assert': {
      that,
      fail_msg: `${name} ({{ ${name} }}) must be ${limits.allowed} (${limits.origin}).`,
      quiet: true,
    },
    ...(pattern ? { vars: { [patternVar]: foldable(pattern.pattern) } } : {}),
  };
}

export function renderArgumentTasks(role: Role): string {
  const tasks: Array<Record<string, unknown>> = [];
  for (const [name, option] of Object.entries(role.options)) {
    const task = checkTask(role, name, limitsOf(option.value));
    if (task) tasks.push(task);
  }
  for (const rule of role.extra ?? []) {
    tasks.push({
      name: `Check ${rule.message.split(' ')[0]} against the other settings`,
      'ansible.builtin.assert': { that: [rule.condition], fail_msg: rule.message, quiet: true },
    });
  }
  return `${header(
    'The limits argument specs cannot express (meta/argument_specs.yml checks types and choices).',
  )}${stringify(tasks, { lineWidth: 100 })}`;
}
