// What an aws environment with `aws.state.backend: s3` keeps in its bucket: the Terraform
// state, and next to it the deploy history that CI runs and laptops share. The one place
// for the key rule, used by the Terraform backend and by the history.

import type { AwsEnvironment } from '../../config/schema.ts';

export interface S3Object {
  bucket: string;
  key: string;
  region: string;
}

/** The Terraform state object, or undefined when the state is a local file. */
export function stateObject(env: AwsEnvironment): S3Object | undefined {
  const { state } = env.aws;
  if (state.backend !== 's3') return undefined;
  return {
    bucket: state.bucket as string,
    key: state.key ?? `bakery/${env.app}/${env.name}/terraform.tfstate`,
    region: state.region ?? env.aws.region,
  };
}

/** The history beside the state: bakery/APP/ENV/terraform.tfstate → bakery/APP/ENV/terraform.history.jsonl. */
export function historyObject(env: AwsEnvironment): S3Object | undefined {
  const state = stateObject(env);
  return state && { ...state, key: `${state.key.replace(/\.tfstate$/, '')}.history.jsonl` };
}

export function s3Url(object: S3Object): string {
  return `s3://${object.bucket}/${object.key}`;
}
