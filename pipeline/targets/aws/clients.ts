// The AWS SDK clients of one run, all for the environment's region.
//
// Endpoints: SDK v3 (3.1142) resolves AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_EC2,
// AWS_ENDPOINT_URL_AUTO_SCALING, AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2,
// AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL_S3), then AWS_ENDPOINT_URL, then a profile's endpoint_url by itself
// (@smithy/core getEndpointUrlConfig), so nothing here overrides an endpoint: the same
// code talks to AWS, LocalStack or a test double. activeEndpoints() only reports them.
//
// Retries: the clients make exactly one attempt (maxAttempts: 1, whatever AWS_MAX_ATTEMPTS
// says to the SDK). callAws (call.ts) retries instead, with the policy carried here: one
// place retries, so attempts do not multiply (8 SDK attempts inside 8 of ours would be
// 64), every retry is shown with --verbose, and an HTML error page from a proxy, which
// the SDK only reports as an XML parse error, is retried and named like any other fault.

import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { STSClient } from '@aws-sdk/client-sts';
import { retryPolicy, type RetryPolicy } from './call.ts';

export interface AwsClients {
  region: string;
  sts: STSClient;
  ec2: EC2Client;
  autoscaling: AutoScalingClient;
  elbv2: ElasticLoadBalancingV2Client;
  /** The stack's alarms, read while an instance refresh runs. */
  cloudwatch: CloudWatchClient;
  /** The environment's log group: the instances' journal, read by status.ts --logs and failed rollouts. */
  logs: CloudWatchLogsClient;
  /** How callAws retries the calls made with these clients. */
  retry: RetryPolicy;
  destroy(): void;
}

/** The SDK service ids whose endpoint variables apply to bakery, by client. */
export const ENDPOINT_VARIABLES = {
  sts: 'AWS_ENDPOINT_URL_STS',
  ec2: 'AWS_ENDPOINT_URL_EC2',
  autoscaling: 'AWS_ENDPOINT_URL_AUTO_SCALING',
  elbv2: 'AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2',
  cloudwatch: 'AWS_ENDPOINT_URL_CLOUDWATCH',
  logs: 'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS',
  s3: 'AWS_ENDPOINT_URL_S3',
} as const;

/** `env` is the run's environment (retry settings, endpoints); the SDK itself reads credentials. */
export function createAwsClients(region: string, env: NodeJS.ProcessEnv): AwsClients {
  const common = clientOptions(region);
  const clients = {
    sts: new STSClient(common),
    ec2: new EC2Client(common),
    autoscaling: new AutoScalingClient(common),
    elbv2: new ElasticLoadBalancingV2Client(common),
    cloudwatch: new CloudWatchClient(common),
    logs: new CloudWatchLogsClient(common),
  };
  return {
    region,
    ...clients,
    retry: retryPolicy(env),
    destroy: () => {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}

/** Every client's settings: one attempt (callAws retries), bounded waits. */
function clientOptions(region: string) {
  return {
    region,
    maxAttempts: 1,
    // Also whatever AWS_RETRY_MODE says: adaptive mode would hold back requests on its own.
    retryMode: 'standard',
    // A hung connection must not hang a deploy: fail the attempt, let callAws try again.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
  };
}

/**
 * The client for the state bucket, in the bucket's region (which need not be the
 * stack's). Path-style addressing with another endpoint: a test double or MinIO on one
 * host cannot answer for bucket.host names.
 */
export function createS3Client(region: string, env: NodeJS.ProcessEnv): S3Client {
  return new S3Client({ ...clientOptions(region), forcePathStyle: configuredEndpoint(env, 's3') !== undefined });
}

/**
 * The endpoint the SDK will use for one client when it is not AWS's own, with the
 * variable that named it: the same rule the SDK applies, so tools that do not read these
 * variables themselves (Packer) can be handed the same endpoint.
 */
export function configuredEndpoint(
  env: NodeJS.ProcessEnv,
  client: keyof typeof ENDPOINT_VARIABLES,
): { url: string; variable: string } | undefined {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')) return undefined;
  const variable = ENDPOINT_VARIABLES[client];
  const specific = env[variable];
  if (specific) return { url: specific, variable };
  if (env.AWS_ENDPOINT_URL) return { url: env.AWS_ENDPOINT_URL, variable: 'AWS_ENDPOINT_URL' };
  return undefined;
}

/** "ec2 → http://127.0.0.1:4566 (AWS_ENDPOINT_URL)" lines for the endpoints that are not AWS's. */
export function activeEndpoints(env: NodeJS.ProcessEnv): string[] {
  const lines: string[] = [];
  for (const client of Object.keys(ENDPOINT_VARIABLES) as Array<keyof typeof ENDPOINT_VARIABLES>) {
    const endpoint = configuredEndpoint(env, client);
    if (endpoint) lines.push(`${client} → ${endpoint.url} (${endpoint.variable})`);
  }
  return lines;
}
