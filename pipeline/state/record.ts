// The last deployment of an environment, kept in .deploy/ENV/deployment.json, so a
// later run (and a person) can tell what is deployed without asking the target.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeState, writeStateFile } from './files.ts';

export interface DeploymentRecord {
  env: string;
  target: string;
  image: string;
  fingerprint: string;
  url: string;
  deployed_at: string;
}

export function recordPath(stateDir: string): string {
  return join(stateDir, 'deployment.json');
}

export async function readDeploymentRecord(stateDir: string): Promise<DeploymentRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordPath(stateDir), 'utf8')) as DeploymentRecord;
  } catch {
    return undefined;
  }
}

/** Whole or not at all (state/files.ts); a failure is a StateFileError naming the path. */
export async function writeDeploymentRecord(stateDir: string, record: DeploymentRecord): Promise<void> {
  await writeStateFile(recordPath(stateDir), `${JSON.stringify(record, null, 2)}\n`, 'the deployment record');
}

export async function removeDeploymentRecord(stateDir: string): Promise<void> {
  await removeState(recordPath(stateDir), 'the deployment record');
}
