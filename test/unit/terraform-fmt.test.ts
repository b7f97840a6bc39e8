// Formatting of terraform/: no Terraform binary is available in CI, but Packer's HCL2
// formatter is the same hclwrite formatter, so each .tf (and .tftest.hcl) file is
// copied to a temporary directory as *.pkr.hcl and checked with `packer fmt -check`.
// (Debian's Packer 1.6.6 has an older hclwrite that spaces a unary "!" as "! x" where
// terraform fmt writes "!x"; the stack avoids unary "!" so both formatters agree.)

import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as assert from 'uvu/assert';
import { suite } from '../support/suite.ts';
import { TERRAFORM_DIR } from '../helpers/terraform.ts';

const run = promisify(execFile);

interface FmtResult {
  code: number;
  output: string;
}

async function packerFmtCheck(directory: string): Promise<FmtResult> {
  try {
    const { stdout, stderr } = await run('packer', ['fmt', '-check', '-diff', directory], { env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: number | string; stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Error('packer is not installed (apt-get install packer); it formats the HCL in this test');
    return { code: typeof failure.code === 'number' ? failure.code : 1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

/** Copies every HCL file of terraform/ (and terraform/tests/) into a fresh directory as *.pkr.hcl. */
async function stageAsPacker(): Promise<{ directory: string; files: string[] }> {
  const directory = await mkdtemp(join(tmpdir(), 'bakery-tf-fmt-'));
  const files: string[] = [];
  for (const [source, prefix] of [[TERRAFORM_DIR, ''], [join(TERRAFORM_DIR, 'tests'), 'tests-']] as const) {
    let names: string[] = [];
    try {
      names = await readdir(source);
    } catch {
      continue;
    }
    for (const name of names.filter((n) => n.endsWith('.tf') || n.endsWith('.hcl'))) {
      const target = `${prefix}${name.replace(/\.(tf|hcl)$/, '')}.pkr.hcl`;
      await copyFile(join(source, name), join(directory, target));
      files.push(target);
    }
  }
  return { directory, files };
}

const Fmt = suite('terraform formatting');

Fmt('every .tf file is formatted the way terraform fmt would', async () => {
  const { directory, files } = await stageAsPacker();
  try {
    assert.ok(files.length >= 8, `expected the stack's files, found ${files.join(', ')}`);
    const result = await packerFmtCheck(directory);
    assert.is(result.code, 0, `not formatted (run terraform fmt in terraform/):\n${result.output}`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

Fmt('the check notices a misaligned file', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'bakery-tf-fmt-'));
  try {
    await writeFile(join(directory, 'bad.pkr.hcl'), 'variable "x" {\n  type = string\n  default = "a"\n}\n');
    const result = await packerFmtCheck(directory);
    assert.is.not(result.code, 0);
    assert.match(result.output, /bad\.pkr\.hcl/);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

Fmt.run();
