// aws.kms_key_id: a customer managed key encrypts the AMIs' root volumes at launch (no
// image copy). Bad values are bad input naming the field; a key in another region is
// refused before anything starts, since EC2 encrypts only with a key of its own region.

import * as assert from 'uvu/assert';
import { parseConfig, selectEnvironment } from '../../pipeline/config/load.ts';
import { ConfigError } from '../../pipeline/errors.ts';
import { suite } from '../support/suite.ts';

const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function config(kmsKeyId: string): string {
  return [
    'app: shop',
    'environments:',
    '  staging:',
    '    target: aws',
    '    aws:',
    '      region: eu-west-1',
    `      kms_key_id: "${kmsKeyId}"`,
    '',
  ].join('\n');
}

function issues(text: string): string[] {
  try {
    parseConfig(text, 'deploy.yaml');
  } catch (error) {
    assert.instance(error, ConfigError);
    return (error as ConfigError).issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  return [];
}

const Kms = suite('aws.kms_key_id');

Kms('a key ARN of the region is accepted and reaches the environment', () => {
  const env = selectEnvironment(parseConfig(config(KEY), 'deploy.yaml'), 'staging');
  assert.is(env.target === 'aws' ? env.aws.kms_key_id : undefined, KEY);
});

Kms('an alias or a bare key id is refused, naming the field and what is allowed', () => {
  for (const value of ['alias/my-key', '1234abcd-12ab-34cd-56ef-1234567890ab']) {
    const found = issues(config(value));
    assert.is(found.length, 1, found.join('\n'));
    assert.match(found[0] as string, /^environments\.staging\.aws\.kms_key_id: .*KMS key ARN/);
  }
});

Kms('a key of another region is refused, naming both regions', () => {
  const found = issues(config(KEY.replace('eu-west-1', 'us-east-1')));
  assert.equal(found, [
    `environments.staging.aws.kms_key_id: "${KEY.replace('eu-west-1', 'us-east-1')}" is a key in us-east-1, but the environment deploys to eu-west-1: use a key of eu-west-1 (a multi-Region key's replica there)`,
  ]);
});

Kms.run();
