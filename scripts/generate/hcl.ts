// Renders the variable declarations of Terraform and Packer with the validations the
// schema's limits call for. Terraform has regex(); Packer 1.6.6 has neither regex() nor
// can(), so a pattern is checked there with regex_replace on a bracketed copy of the value
// (an empty value that does not match stays "<>", never "").

import { GENERATED_BY, limitsOf, type Rule } from './rules.ts';
import type { Extra, PackerVariable, Source, TerraformVariable } from './limits.ts';

/** An HCL quoted string: JSON's escapes, plus template sequences kept literal. */
export function hclString(text: string): string {
  return JSON.stringify(text).replace(/\$\{/g, '$${').replace(/%\{/g, '%%{');
}

function comment(text: string): string {
  return text
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
}

type Dialect = 'terraform' | 'packer';

/** The condition a value must meet, or undefined when its source sets no limit. */
function conditionOf(rules: Rule[], value: string, dialect: Dialect): string | undefined {
  const matches = (pattern: string, subject: string): string =>
    dialect === 'terraform'
      ? `can(regex(${hclString(pattern)}, ${subject}))`
      : `regex_replace("<\${${subject}}>", ${hclString(`^<(?:${pattern.slice(1, -1)})>$`)}, "") == ""`;
  const parts: string[] = [];
  for (const rule of rules) {
    switch (rule.kind) {
      case 'enum':
        parts.push(
          `contains([${rule.values.map((item) => (typeof item === 'number' ? String(item) : hclString(item))).join(', ')}], ${value})`,
        );
        break;
      case 'range':
        parts.push(`${value} >= ${rule.min} && ${value} <= ${rule.max}`);
        if (rule.whole) parts.push(`floor(${value}) == ${value}`);
        break;
      case 'pattern':
        parts.push(matches(rule.pattern, value));
        break;
      case 'maxLength':
        parts.push(`length(${value}) <= ${rule.max}`);
        break;
      case 'items':
        if (rule.min !== undefined) parts.push(`length(${value}) >= ${rule.min}`);
        if (rule.max !== undefined) parts.push(`length(${value}) <= ${rule.max}`);
        break;
      case 'itemPattern':
        parts.push(
          dialect === 'terraform'
            ? `alltrue([for item in ${value} : ${matches(rule.pattern, 'item')}])`
            : `length([for item in ${value} : item if ${matches(rule.pattern, 'item').replace(/ == ""$/, ' != ""')}]) == 0`,
        );
        break;
    }
  }
  return parts.length ? parts.join(' && ') : undefined;
}

function validation(lines: string[], condition: string, message: string, why?: string): void {
  lines.push('', '  validation {');
  if (why) lines.push(`    # ${why}`);
  lines.push(`    condition     = ${condition}`, `    error_message = ${hclString(message)}`, '  }');
}

function attributesHead(declared: Array<[string, string]>): string[] {
  const width = Math.max(...declared.map(([key]) => key.length));
  return declared.map(([key, value]) => `  ${key.padEnd(width)} = ${value}`);
}

// ----------------------------------------------------------------------------- Terraform

function terraformCheck(
  lines: string[],
  label: string,
  value: string,
  source: Source,
  absent: 'null' | 'empty' | undefined,
  mayBeNull: boolean,
  nullParent?: string,
): void {
  const limits = limitsOf(source);
  const condition = conditionOf(limits.rules, value, 'terraform');
  if (!condition) return;
  let guarded = condition;
  let orAbsent = '';
  // Terraform evaluates both sides of ||, so a null value is kept away from the rule by try().
  if (absent === 'null' || (mayBeNull && limits.optional)) {
    guarded = `${value} == null || try(${condition}, false)`;
    orAbsent = ', or null';
  }
  if (absent === 'empty') {
    guarded = `length(${value}) == 0 || (${condition})`;
    orAbsent = ', or empty';
  }
  if (nullParent) guarded = `${nullParent} == null || try(${guarded}, false)`;
  validation(lines, guarded, `${label} must be ${limits.allowed}${orAbsent} (${limits.origin}).`);
}

function terraformExtra(lines: string[], extra: Extra[] = []): void {
  for (const rule of extra) validation(lines, rule.condition, rule.message, `Not in the schema: ${rule.why}.`);
}

export function renderTerraform(variables: TerraformVariable[]): string {
  const lines = [
    comment(GENERATED_BY),
    '#',
    comment(
      [
        'The variables whose limits come from deploy.yaml, declared whole: Terraform takes a',
        "variable's validation blocks only inside its one declaration, so generating whole",
        'declarations (rather than patching blocks into variables.tf) keeps the generated and the',
        'hand-written parts in separate files. variables.tf declares the rest, whose limits are',
        "Terraform's or AWS's own.",
      ].join('\n'),
    ),
  ];
  for (const variable of variables) {
    const head: Array<[string, string]> = [
      ['description', hclString(variable.description)],
      ['type', variable.type],
    ];
    if (variable.default !== undefined) head.push(['default', variable.default]);
    head.push(['nullable', String(variable.nullable)]);
    lines.push('', `variable "${variable.name}" {`);
    // terraform fmt aligns a run of one-line attributes; a multi-line type ends the run.
    const multiline = variable.type.includes('\n');
    if (multiline) {
      lines.push(...attributesHead(head.slice(0, 1)));
      lines.push(`  type = ${variable.type}`);
      lines.push(...attributesHead(head.slice(2)));
    } else {
      lines.push(...attributesHead(head));
    }
    if (variable.value)
      terraformCheck(lines, variable.name, `var.${variable.name}`, variable.value, variable.absent, true);
    for (const [attribute, source] of Object.entries(variable.attributes ?? {})) {
      // An attribute declared optional(T) without a default arrives as null when absent.
      const mayBeNull = new RegExp(`\\b${attribute}\\s*= optional\\(\\w+\\)`).test(variable.type);
      terraformCheck(
        lines,
        `${variable.name}.${attribute}`,
        `var.${variable.name}.${attribute}`,
        source,
        undefined,
        mayBeNull,
        // A null object (no database) has no attributes to check.
        variable.nullable && variable.default === 'null' ? `var.${variable.name}` : undefined,
      );
    }
    for (const [attribute, source] of Object.entries(variable.items ?? {})) {
      const limits = limitsOf(source);
      const condition = conditionOf(limits.rules, `item.${attribute}`, 'terraform');
      if (!condition) continue;
      const guarded = limits.optional ? `item.${attribute} == null || try(${condition}, false)` : condition;
      validation(
        lines,
        `alltrue([for item in var.${variable.name} : ${guarded}])`,
        `${variable.name}[*].${attribute} must be ${limits.allowed}${limits.optional ? ', or null' : ''} (${limits.origin}).`,
      );
    }
    terraformExtra(lines, variable.extra);
    lines.push('}');
  }
  return `${lines.join('\n')}\n`;
}

// -------------------------------------------------------------------------------- Packer

export function renderPacker(variables: PackerVariable[]): string {
  const lines = [
    comment(GENERATED_BY),
    '#',
    comment(
      [
        'The bake variables whose limits come from deploy.yaml or the runner, declared whole',
        '(a validation block lives only inside its variable). variables.pkr.hcl declares the',
        'rest. Packer 1.6.6 wants error messages to start with a capital and end with a period.',
      ].join('\n'),
    ),
  ];
  for (const variable of variables) {
    const head: Array<[string, string]> = [
      ['type', variable.type],
      ['description', hclString(variable.description)],
    ];
    if (variable.default !== undefined) head.push(['default', variable.default]);
    lines.push('', `variable "${variable.name}" {`, ...attributesHead(head));
    const limits = limitsOf(variable.value);
    const condition = conditionOf(limits.rules, `var.${variable.name}`, 'packer');
    if (condition && variable.absent === 'empty') {
      validation(
        lines,
        `var.${variable.name} == "" || ${condition}`,
        `The ${variable.name} must be ${limits.allowed}, or empty (${limits.origin}).`,
      );
    } else if (condition) {
      validation(lines, condition, `The ${variable.name} must be ${limits.allowed} (${limits.origin}).`);
    }
    lines.push('}');
  }
  return `${lines.join('\n')}\n`;
}
