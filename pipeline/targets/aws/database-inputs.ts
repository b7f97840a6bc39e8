// The environment's database as the Terraform stack takes it (var.database in
// terraform/database.tf), and what destroy does with it: RDS refuses to delete a database
// with deletion protection on, so destroy first applies the last inputs with the
// protection off, then `terraform destroy` deletes the instance and RDS takes the final
// snapshot under a name known in advance.

import { awsStackName, type DatabaseSettings } from '../../config/schema.ts';

/** var.database: deploy.yaml's keys, with deletion protection on except just before destroy. */
export interface DatabaseInputs {
  engine: DatabaseSettings['engine'];
  instance_class: string;
  storage_gb: number;
  multi_az: boolean;
  backup_retention_days: number;
  deletion_protection: boolean;
}

/** null (no database) when the environment has none. */
export function databaseInputs(database: DatabaseSettings | undefined): DatabaseInputs | null {
  if (!database) return null;
  return {
    engine: database.engine,
    instance_class: database.instance_class,
    storage_gb: database.storage_gb,
    multi_az: database.multi_az,
    backup_retention_days: database.backup_retention_days,
    deletion_protection: true,
  };
}

/** The same inputs with the protection off: what destroy applies before deleting. */
export function unprotected(inputs: DatabaseInputs): DatabaseInputs {
  return { ...inputs, deletion_protection: false };
}

/** The final snapshot's name (terraform/database.tf: local.database_final_snapshot). */
export function finalSnapshotName(app: string, environment: string): string {
  return `${awsStackName(app, environment).toLowerCase()}-final`;
}
