// The AWS SDK clients of one run, all for the environment's region.
//
// Endpoints: SDK v3 (3.1142) resolves AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_EC2,
// AWS_ENDPOINT_URL_AUTO_SCALING, AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2,
// AWS_ENDPOINT_URL_STS), then AWS_ENDPOINT_URL, then a profile's endpoint_url by itself
// (@smithy/core getEndpointUrlConfig), so nothing here overrides an endpoint: the same
// code talks to AWS, LocalStack or a test double. activeEndpoints() only reports them.
//
// Retries: throttling (Throttling, RequestLimitExceeded, 429) is retried with
// exponential backoff and jitter; the adaptive mode also slows the client down once
// it has been throttled, which is what polling loops need. AWS_MAX_ATTEMPTS and
// AWS_RETRY_MODE still win when set.

import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { STSClient } from '@aws-sdk/client-sts';

export interface AwsClients {
  region: string;
  sts: STSClient;
  ec2: EC2Client;
  autoscaling: AutoScalingClient;
  elbv2: ElasticLoadBalancingV2Client;
  destroy(): void;
}

export const DEFAULT_MAX_ATTEMPTS = 8;

/** The SDK service ids whose endpoint variables apply to bakery, by client. */
export const ENDPOINT_VARIABLES = {
  sts: 'AWS_ENDPOINT_URL_STS',
  ec2: 'AWS_ENDPOINT_URL_EC2',
  autoscaling: 'AWS_ENDPOINT_URL_AUTO_SCALING',
  elbv2: 'AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2',
} as const;

export interface ClientSettings {
  region: string;
  maxAttempts: number;
  retryMode: 'standard' | 'adaptive';
}

export function clientSettings(region: string, env: NodeJS.ProcessEnv): ClientSettings {
  const attempts = Number.parseInt(env.AWS_MAX_ATTEMPTS ?? '', 10);
  return {
    region,
    maxAttempts: Number.isInteger(attempts) && attempts > 0 ? attempts : DEFAULT_MAX_ATTEMPTS,
    retryMode: env.AWS_RETRY_MODE === 'standard' ? 'standard' : 'adaptive',
  };
}

/** `env` is the run's environment (retry settings); the SDK itself reads endpoints and credentials. */
export function createAwsClients(region: string, env: NodeJS.ProcessEnv): AwsClients {
  const settings = clientSettings(region, env);
  const common = {
    region: settings.region,
    maxAttempts: settings.maxAttempts,
    retryMode: settings.retryMode,
    // A hung connection must not hang a deploy: fail the attempt, let the retry try again.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
  };
  const clients = {
    sts: new STSClient(common),
    ec2: new EC2Client(common),
    autoscaling: new AutoScalingClient(common),
    elbv2: new ElasticLoadBalancingV2Client(common),
  };
  return {
    region,
    ...clients,
    destroy: () => {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}

/** "ec2 → http://127.0.0.1:4566 (AWS_ENDPOINT_URL)" lines for the endpoints that are not AWS's. */
export function activeEndpoints(env: NodeJS.ProcessEnv): string[] {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')) return [];
  const lines: string[] = [];
  for (const [client, variable] of Object.entries(ENDPOINT_VARIABLES)) {
    const specific = env[variable];
    if (specific) lines.push(`${client} → ${specific} (${variable})`);
    else if (env.AWS_ENDPOINT_URL) lines.push(`${client} → ${env.AWS_ENDPOINT_URL} (AWS_ENDPOINT_URL)`);
  }
  return lines;
}
