// The environment's database as Terraform inputs (pipeline/targets/aws/database-inputs.ts)
// against the stack's var.database, and destroy's unprotected copy.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { databaseInputs, finalSnapshotName, unprotected } from '../../pipeline/targets/aws/database-inputs.ts';
import { terraformInputs } from '../../pipeline/targets/aws/terraform.ts';
import { awsEnvironment } from '../helpers/aws-io.ts';
import { loadStack } from '../helpers/terraform.ts';
import { suite } from '../support/suite.ts';

const Inputs = suite('database inputs');

const PROD = {
  engine: 'postgres',
  instance_class: 'db.t4g.small',
  storage_gb: 30,
  multi_az: true,
  backup_retention_days: 9,
} as const;

Inputs("deploy.yaml's database keys become var.database with deletion protection on", () => {
  assert.equal(databaseInputs(PROD), { ...PROD, deletion_protection: true });
  assert.is(databaseInputs(undefined), null);
  const inputs = terraformInputs(
    awsEnvironment({}, { database: PROD }),
    { vpcId: null, subnetIds: [] },
    { id: 'ami-1' },
    { variables: {} },
  );
  assert.equal(inputs.database, { ...PROD, deletion_protection: true });
});

Inputs('destroy turns only the protection off', () => {
  const before = databaseInputs(PROD);
  assert.ok(before);
  assert.equal(unprotected(before), { ...before, deletion_protection: false });
  assert.is(before.deletion_protection, true, 'the original stays protected');
});

Inputs("every key written is one of var.database's attributes", async () => {
  const stack = await loadStack();
  const type = String(stack.variables.get('database')?.type ?? '');
  for (const key of Object.keys(databaseInputs(PROD) ?? {}))
    assert.match(type, new RegExp(`\\b${key}\\b`), `var.database has no attribute ${key}`);
});

Inputs("the final snapshot's name is the one terraform/database.tf gives it", async () => {
  assert.is(finalSnapshotName('shop', 'prod'), 'shop-prod-final');
  // var.name is the stack name (terraformInputs), lower-cased like the RDS identifier.
  const terraform = await readFile(join(import.meta.dirname, '..', '..', 'terraform', 'database.tf'), 'utf8');
  assert.match(terraform, /database_final_snapshot = "\$\{lower\(var\.name\)\}-final"/);
  assert.is(
    terraformInputs(awsEnvironment(), { vpcId: null, subnetIds: [] }, { id: 'ami-1' }, { variables: {} }).name,
    'demo-staging',
  );
  assert.is(finalSnapshotName('demo', 'staging'), 'demo-staging-final');
});

Inputs.run();
