// The aws target's answers outside a run (targets/kind.ts): Terraform and Packer on the
// runner, SSM parameter names as secrets (the instances read them at boot), AWS's own
// limits on health checks and names, the history shared beside an S3 state.

import { awsDatabase } from '../../config/database.ts';
import { MAX_AWS_STACK_NAME, awsStackName, type AwsEnvironment } from '../../config/schema.ts';
import { UsageError } from '../../errors.ts';
import { localHistory, type HistoryStore } from '../../state/history.ts';
import type { TargetKind } from '../kind.ts';
import { acquireS3DeployLock } from './shared-lock.ts';
import { historyObject, s3Url } from './state-objects.ts';

const DEFAULT_BASE_AMI = { owner: '136693071363', name: 'debian-12-amd64-*' };

// SSM parameter names: letters, digits and .-_/ ; a path starts with /; "aws" and "ssm"
// prefixes are AWS's own.
const SSM_NAME = /^(\/[A-Za-z0-9_.-]+)+$|^[A-Za-z0-9_.-]+$/;

export const awsKind: TargetKind<AwsEnvironment> = {
  name: 'aws',
  tools: { deploy: ['packer', 'terraform', 'ansible-playbook'], destroy: ['terraform'] },
  // It removes a load balancer and a fleet others may be using: the operator says so.
  destroyAsksToConfirm: true,
  // It talks to AWS only: the default, isolated bridge network will do.
  toolingContainer: { dockerSocket: false, hostNetwork: false },
  secretsReadBy: 'instances',

  secretReferenceProblem: (reference) =>
    SSM_NAME.test(reference) && !/^\/?(aws|ssm)/i.test(reference) && reference.length <= 1011
      ? undefined
      : `${JSON.stringify(reference)} is not an SSM parameter name: expected a name such as /shop/prod/DATABASE_URL (letters, digits, . - _ and /, not starting with aws or ssm)`,

  healthIssues(health, path) {
    // Target group limits: interval 5-300 s, timeout 2-120 s and shorter than the interval.
    const issues = [];
    if (health.interval_s < 5 || !Number.isInteger(health.interval_s))
      issues.push({
        path: `${path}.health.interval_s`,
        message: `${health.interval_s} is out of range for target "aws": expected a whole number from 5 to 300`,
      });
    if (health.timeout_s < 2)
      issues.push({
        path: `${path}.health.timeout_s`,
        message: `${health.timeout_s} is out of range for target "aws": expected 2 to 120`,
      });
    return issues;
  },

  normalize(raw, common, path, issues) {
    const before = issues.length;
    if (raw.local)
      issues.push({
        path: `${path}.local`,
        message: 'applies to target "local" only; this environment has target "aws"',
      });
    if (!raw.aws)
      issues.push({ path: `${path}.aws`, message: 'is required for target "aws": set at least aws.region' });
    const stack = awsStackName(common.app, common.name);
    if (stack.length > MAX_AWS_STACK_NAME) {
      issues.push({
        path,
        message: `app and environment name make "${stack}" (${stack.length} characters), but the load balancer's name allows ${MAX_AWS_STACK_NAME}: shorten the environment name or the app name`,
      });
    }
    // EC2 encrypts a volume only with a key of its own region.
    const keyRegion = raw.aws?.kms_key_id?.split(':')[3];
    if (raw.aws && keyRegion && keyRegion !== raw.aws.region)
      issues.push({
        path: `${path}.aws.kms_key_id`,
        message: `${JSON.stringify(raw.aws.kms_key_id)} is a key in ${keyRegion}, but the environment deploys to ${raw.aws.region}: use a key of ${raw.aws.region} (a multi-Region key's replica there)`,
      });
    if (issues.length > before || !raw.aws) return undefined;
    const database = awsDatabase(raw.database);
    return {
      ...common,
      target: 'aws',
      aws: raw.aws,
      baseAmi: raw.image.base ?? DEFAULT_BASE_AMI,
      ...(database ? { database } : {}),
    };
  },

  hostPort: () => undefined,

  // A CI runner is thrown away after the job: state kept in .deploy/ENV/ on it would be
  // lost, the next run would try to create every resource again, and two runs could not
  // lock it against each other.
  ciRefusal: (env) =>
    env.aws.state.backend !== 'local'
      ? undefined
      : new UsageError(
          `environments.${env.name}.aws.state.backend: "local" cannot be used from CI: the Terraform state would stay on the CI runner and be lost with it, so the next run would create everything again`,
          [
            `set backend: s3 with a bucket under environments.${env.name}.aws.state in deploy.yaml (key and region are optional)`,
            'CI is detected from the CI environment variable; unset it (or CI=false) only for a run on a machine that keeps .deploy/',
          ],
        ),

  history: sharedHistory,
  sharedLock: acquireS3DeployLock,
};

/**
 * This machine's history, and for a state in S3 the copy beside it as well. Not bound to
 * the run's interrupt signal on purpose: an interrupted run is still recorded, and each
 * S3 call has its own timeouts (clients.ts).
 */
function sharedHistory(env: AwsEnvironment, stateDir: string, processEnv: NodeJS.ProcessEnv): HistoryStore {
  const local = localHistory(stateDir);
  const object = historyObject(env);
  if (!object) return local;
  // The S3 client is loaded on first use (status of a local environment never pays for
  // it) and closed after each use, so no idle connection keeps the process alive.
  const withShared = async <T>(use: (store: HistoryStore) => Promise<T>): Promise<T> => {
    const [{ s3History }, { createS3Client }, { retryPolicy }] = await Promise.all([
      import('./history-s3.ts'),
      import('./clients.ts'),
      import('./call.ts'),
    ]);
    const client = createS3Client(object.region, processEnv);
    try {
      return await use(
        s3History(local, {
          client,
          object,
          retry: retryPolicy(processEnv),
          io: { signal: new AbortController().signal, debug: () => {}, progress: () => {} },
        }),
      );
    } finally {
      client.destroy();
    }
  };
  return {
    location: `${local.location} and ${s3Url(object)}`,
    append: (entry) => withShared((store) => store.append(entry)),
    read: () => withShared((store) => store.read()),
  };
}
