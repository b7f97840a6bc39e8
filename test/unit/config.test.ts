import { existsSync, writeFileSync } from 'node:fs';
import { bundledService } from '../../pipeline/config/service.ts';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { loadConfig, parseConfig, selectEnvironment } from '../../pipeline/config/load.ts';
import { ConfigError, type ConfigIssue } from '../../pipeline/errors.ts';
import { REPO_ROOT, makeTempDir, removeDir, runCli } from '../support/files.ts';
import { thrownBy } from '../support/fakes.ts';

type Data = Record<string, unknown>;

/** A valid config with one local and one aws environment; `edit` breaks it on purpose. */
function validConfig(edit: (config: { app: unknown; environments: Record<string, Data> }) => void = () => {}): string {
  const config = {
    app: 'shop',
    environments: {
      local: { target: 'local' } as Data,
      staging: { target: 'aws', aws: { region: 'eu-west-1' } } as Data,
    },
  };
  edit(config as { app: unknown; environments: Record<string, Data> });
  return stringify(config);
}

const local = (config: { environments: Record<string, Data> }): Data => config.environments.local as Data;
const staging = (config: { environments: Record<string, Data> }): Data => config.environments.staging as Data;
const awsOf = (config: { environments: Record<string, Data> }): Data => staging(config).aws as Data;

function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, 'deploy.yaml');
  } catch (error) {
    assert.instance(error, ConfigError);
    return (error as ConfigError).issues;
  }
  assert.unreachable('expected a ConfigError, but the config was accepted');
  return [];
}

/** Asserts exactly one issue, at `path`, whose message contains every `fragment`. */
function assertOneIssue(text: string, path: string, ...fragments: string[]): void {
  const issues = issuesOf(text);
  assert.equal(
    issues.map((issue) => issue.path),
    [path],
    `issues: ${JSON.stringify(issues)}`,
  );
  for (const fragment of fragments) {
    assert.ok(
      (issues[0] as ConfigIssue).message.includes(fragment),
      `"${(issues[0] as ConfigIssue).message}" should contain "${fragment}"`,
    );
  }
}

// ---------------------------------------------------------------------------------------

const badInput = suite('a bad deploy.yaml is rejected with the field path');

const cases: Array<[title: string, text: string, path: string, ...fragments: string[]]> = [
  [
    'app that is a number',
    validConfig((c) => {
      c.app = 42;
    }),
    'app',
    '42 is not allowed',
    'DNS-safe',
  ],
  [
    'app with capitals and an underscore',
    validConfig((c) => {
      c.app = 'My_Shop';
    }),
    'app',
    '"My_Shop" is not allowed',
  ],
  [
    'app ending with a hyphen',
    validConfig((c) => {
      c.app = 'shop-';
    }),
    'app',
    '"shop-" is not allowed',
  ],
  [
    'app longer than 20 characters',
    validConfig((c) => {
      c.app = 'a-very-long-shop-name-x';
    }),
    'app',
    'is 23 characters long',
    'at most 20',
  ],
  ['app missing', stringify({ environments: { local: { target: 'local' } } }), 'app', 'is required'],
  ['environments missing', stringify({ app: 'shop' }), 'environments', 'is required'],
  ['environments empty', stringify({ app: 'shop', environments: {} }), 'environments', 'is empty'],
  [
    'environments as a list',
    stringify({ app: 'shop', environments: ['local'] }),
    'environments',
    'a list is not allowed',
  ],
  [
    'an environment name with capitals',
    stringify({ app: 'shop', environments: { Prod: { target: 'local' } } }),
    'environments.Prod',
    'name "Prod" is not allowed',
  ],
  [
    'an environment that is empty',
    'app: shop\nenvironments:\n  local:\n',
    'environments.local',
    'null is not allowed',
    'expected a mapping',
  ],
  [
    'target missing',
    validConfig((c) => {
      delete local(c).target;
    }),
    'environments.local.target',
    'is required',
  ],
  [
    'unknown target with a suggestion',
    validConfig((c) => {
      local(c).target = 'locl';
    }),
    'environments.local.target',
    '"locl" is not allowed',
    'local, aws',
    'did you mean "local"?',
  ],
  [
    'unknown target without a close match',
    validConfig((c) => {
      local(c).target = 'kubernetes';
    }),
    'environments.local.target',
    'expected one of local, aws',
  ],
  [
    'instances.min as a string',
    validConfig((c) => {
      local(c).instances = { min: 'two' };
    }),
    'environments.local.instances.min',
    '"two" is not allowed',
    'whole number from 1 to 20',
  ],
  [
    'instances.min of 0',
    validConfig((c) => {
      local(c).instances = { min: 0 };
    }),
    'environments.local.instances.min',
    '0 is out of range',
    '1 to 20',
  ],
  [
    'instances.max of 21',
    validConfig((c) => {
      local(c).instances = { max: 21 };
    }),
    'environments.local.instances.max',
    '21 is out of range',
  ],
  [
    'instances.desired as a fraction',
    validConfig((c) => {
      local(c).instances = { desired: 1.5 };
    }),
    'environments.local.instances.desired',
    '1.5 is not allowed',
  ],
  [
    'min > desired > max',
    validConfig((c) => {
      local(c).instances = { min: 3, desired: 2, max: 1 };
    }),
    'environments.local.instances',
    'min (3) must be <= desired (2) <= max (1)',
  ],
  [
    'desired above max',
    validConfig((c) => {
      local(c).instances = { min: 1, desired: 5, max: 4 };
    }),
    'environments.local.instances',
    'min (1) must be <= desired (5) <= max (4)',
  ],
  [
    'a misspelt instances key',
    validConfig((c) => {
      local(c).instances = { desird: 2 };
    }),
    'environments.local.instances.desird',
    'unknown key',
    'did you mean "desired"?',
    'allowed keys: min, desired, max',
  ],
  [
    'instances as a list',
    validConfig((c) => {
      local(c).instances = [1, 2];
    }),
    'environments.local.instances',
    'a list is not allowed',
  ],
  [
    'service.port below 1024',
    validConfig((c) => {
      local(c).service = { port: 80 };
    }),
    'environments.local.service.port',
    '80 is out of range',
    '1024 to 65535',
  ],
  [
    'service.health_path without a leading slash',
    validConfig((c) => {
      local(c).service = { health_path: 'health' };
    }),
    'environments.local.service.health_path',
    '"health" is not allowed',
    'absolute URL path',
  ],
  [
    'health.interval_s of 0',
    validConfig((c) => {
      local(c).health = { interval_s: 0 };
    }),
    'environments.local.health.interval_s',
    '0 is out of range',
  ],
  [
    'health.healthy_threshold of 1',
    validConfig((c) => {
      local(c).health = { healthy_threshold: 1 };
    }),
    'environments.local.health.healthy_threshold',
    '1 is out of range',
    '2 to 10',
  ],
  [
    'health timeout equal to the interval',
    validConfig((c) => {
      local(c).health = { interval_s: 3, timeout_s: 3 };
    }),
    'environments.local.health.timeout_s',
    '3 must be less than interval_s (3)',
  ],
  [
    'health timeout above the interval',
    validConfig((c) => {
      local(c).health = { interval_s: 2, timeout_s: 5 };
    }),
    'environments.local.health.timeout_s',
    '5 must be less than interval_s (2)',
  ],
  [
    'aws health interval below 5 s',
    validConfig((c) => {
      staging(c).health = { interval_s: 4, timeout_s: 2 };
    }),
    'environments.staging.health.interval_s',
    '4 is out of range for target "aws"',
    '5 to 300',
  ],
  [
    'aws health interval of a fraction of a second (local only)',
    validConfig((c) => {
      staging(c).health = { interval_s: 5.5, timeout_s: 2 };
    }),
    'environments.staging.health.interval_s',
    '5.5 is out of range for target "aws"',
    'a whole number from 5 to 300',
  ],
  [
    'aws health timeout below 2 s',
    validConfig((c) => {
      staging(c).health = { timeout_s: 1 };
    }),
    'environments.staging.health.timeout_s',
    '1 is out of range for target "aws"',
  ],
  [
    'image.keep of 0',
    validConfig((c) => {
      local(c).image = { keep: 0 };
    }),
    'environments.local.image.keep',
    '0 is out of range',
  ],
  [
    'image.base on a local environment',
    validConfig((c) => {
      local(c).image = { base: { name: 'debian-12-*' } };
    }),
    'environments.local.image.base',
    'target "aws"',
    'local.base_image',
  ],
  [
    'image.base.owner that is not an account',
    validConfig((c) => {
      staging(c).image = { base: { owner: 'debian' } };
    }),
    'environments.staging.image.base.owner',
    '"debian" is not allowed',
    '12-digit account id',
  ],
  [
    'local.port above 65535',
    validConfig((c) => {
      local(c).local = { port: 70000 };
    }),
    'environments.local.local.port',
    '70000 is out of range',
  ],
  [
    'local.base_image with spaces',
    validConfig((c) => {
      local(c).local = { base_image: 'Debian Bookworm' };
    }),
    'environments.local.local.base_image',
    'Docker image reference',
  ],
  [
    'a local environment with an aws block',
    validConfig((c) => {
      local(c).aws = { region: 'eu-west-1' };
    }),
    'environments.local.aws',
    'applies to target "aws" only',
  ],
  [
    'an aws environment without an aws block',
    validConfig((c) => {
      delete staging(c).aws;
    }),
    'environments.staging.aws',
    'is required for target "aws"',
  ],
  [
    'an aws environment with a local block',
    validConfig((c) => {
      staging(c).local = { port: 9000 };
    }),
    'environments.staging.local',
    'applies to target "local" only',
  ],
  [
    'an aws environment without a region',
    validConfig((c) => {
      staging(c).aws = { instance_type: 't3.small' };
    }),
    'environments.staging.aws.region',
    'is required',
  ],
  [
    'a region that is not one',
    validConfig((c) => {
      awsOf(c).region = 'europe';
    }),
    'environments.staging.aws.region',
    '"europe" is not allowed',
    'AWS region',
  ],
  [
    'a misspelt aws key',
    validConfig((c) => {
      awsOf(c).regoin = 'eu-west-1';
    }),
    'environments.staging.aws.regoin',
    'did you mean "region"?',
  ],
  [
    'a bad vpc id',
    validConfig((c) => {
      awsOf(c).vpc_id = 'vpc-xyz';
    }),
    'environments.staging.aws.vpc_id',
    '"vpc-xyz" is not allowed',
    'VPC id',
  ],
  [
    'a bad subnet id',
    validConfig((c) => {
      awsOf(c).subnet_ids = ['subnet-0123456789abcdef0', 'subnet-nope'];
    }),
    'environments.staging.aws.subnet_ids[1]',
    '"subnet-nope" is not allowed',
  ],
  [
    'one subnet only',
    validConfig((c) => {
      awsOf(c).subnet_ids = ['subnet-0123456789abcdef0'];
    }),
    'environments.staging.aws.subnet_ids',
    'has 1 item(s)',
    '2 to 16',
  ],
  [
    'subnets as a string',
    validConfig((c) => {
      awsOf(c).subnet_ids = 'subnet-0123456789abcdef0';
    }),
    'environments.staging.aws.subnet_ids',
    'expected a list',
  ],
  [
    'a bad instance type',
    validConfig((c) => {
      awsOf(c).instance_type = 'large';
    }),
    'environments.staging.aws.instance_type',
    '"large" is not allowed',
  ],
  [
    'a bad certificate arn',
    validConfig((c) => {
      awsOf(c).certificate_arn = 'arn:aws:iam::123456789012:server-certificate/x';
    }),
    'environments.staging.aws.certificate_arn',
    'ACM certificate ARN',
  ],
  [
    's3 state without a bucket',
    validConfig((c) => {
      awsOf(c).state = { backend: 's3' };
    }),
    'environments.staging.aws.state.bucket',
    'is required when backend is "s3"',
  ],
  [
    'local state with a bucket',
    validConfig((c) => {
      awsOf(c).state = { bucket: 'my-state' };
    }),
    'environments.staging.aws.state.backend',
    '"local" takes no bucket',
  ],
  [
    'an unknown state backend',
    validConfig((c) => {
      awsOf(c).state = { backend: 'gcs' };
    }),
    'environments.staging.aws.state.backend',
    '"gcs" is not allowed',
    'local, s3',
  ],
  [
    'a bad state bucket name',
    validConfig((c) => {
      awsOf(c).state = { backend: 's3', bucket: 'My_Bucket' };
    }),
    'environments.staging.aws.state.bucket',
    'S3 bucket name',
  ],
  [
    'an aws environment whose stack name exceeds 32 characters',
    stringify({
      app: 'shop-frontend-eu',
      environments: { 'production-green': { target: 'aws', aws: { region: 'eu-west-1' } } },
    }),
    'environments.production-green',
    '"shop-frontend-eu-production-green" (33 characters)',
    'allows 32',
  ],
  [
    'a misspelt top-level key',
    stringify({
      app: 'shop',
      enviroments: { local: { target: 'local' } },
      environments: { local: { target: 'local' } },
    }),
    'enviroments',
    'did you mean "environments"?',
  ],
  [
    'a key named after an Object.prototype member',
    validConfig((c) => {
      local(c)['constructor'] = 1;
    }),
    'environments.local.constructor',
    'unknown key',
  ],
  [
    'two local environments on one port',
    stringify({ app: 'shop', environments: { local: { target: 'local' }, second: { target: 'local' } } }),
    'environments.second.local.port',
    '8080 is already used by environments.local',
  ],
  [
    'a top level that is a list',
    '- app\n- environments\n',
    '',
    'a list is not allowed',
    'expected a mapping with keys app, environments',
  ],
  ['a top level that is a scalar', 'shop\n', '', '"shop" is not allowed'],
  ['an empty file', '', '', 'the file is empty'],
  ['a file of comments only', '# nothing yet\n\n', '', 'the file is empty'],
  ['a YAML syntax error', 'app: shop\nenvironments:\n  local: { target: local\n', '', 'YAML syntax error at line'],
  [
    'tabs for indentation',
    'app: shop\nenvironments:\n\tlocal: {}\n',
    '',
    'YAML syntax error at line 3, column 1',
    'Tabs',
  ],
  [
    'a duplicate key',
    'app: shop\napp: other\nenvironments:\n  local: { target: local }\n',
    '',
    'line 2, column 1',
    'unique',
  ],
  [
    'a duplicate environment',
    'app: shop\nenvironments:\n  local: { target: local }\n  local: { target: local }\n',
    '',
    'line 4, column 3',
    'unique',
  ],
];

for (const [title, text, path, ...fragments] of cases) {
  badInput(`rejects ${title} at "${path || '(file)'}"`, () => assertOneIssue(text, path, ...fragments));
}

badInput('counts at least 30 distinct bad inputs', () => {
  assert.ok(cases.length >= 30, `only ${cases.length} cases`);
  assert.is(new Set(cases.map(([, text]) => text)).size, cases.length, 'two cases use the same input');
});

badInput('reports a YAML syntax error with its exact line and column', () => {
  const issues = issuesOf('app: shop\nenvironments:\n  local:\n    target: local\n    instances: [1, 2\n');
  assert.is(issues.length, 1);
  assert.match((issues[0] as ConfigIssue).message, /^YAML syntax error at line \d+, column \d+: /);
  const compact = issuesOf('app: shop\nenvironments: local: {}\n');
  assert.match((compact[0] as ConfigIssue).message, /^YAML syntax error at line 2, column 15: Nested mappings/);
});

badInput('puts the line and column of the value on every schema problem', () => {
  const text = [
    'app: shop',
    'environments:',
    '  local:',
    '    target: local',
    '    health:',
    '      timeout_s: 0',
    '  staging:',
    '    target: aws',
    '    aws:',
    '      instance_type: t3.micro',
  ].join('\n');
  const byPath = new Map(issuesOf(text).map((issue) => [issue.path, issue]));
  const timeout = byPath.get('environments.local.health.timeout_s');
  assert.equal([timeout?.line, timeout?.column], [6, 18], 'the bad value itself');
  // A missing key has no node of its own: the mapping it belongs in is where to add it.
  const region = byPath.get('environments.staging.aws.region');
  assert.equal([region?.line, region?.column], [10, 7], 'the aws mapping that lacks region');
  try {
    parseConfig(text);
  } catch (error) {
    assert.ok(
      (error as ConfigError).details.includes(
        `environments.local.health.timeout_s: ${timeout?.message} (line 6, column 18)`,
      ),
      (error as ConfigError).details.join('\n'),
    );
  }
});

badInput('reports every issue at once, not only the first', () => {
  const text = validConfig((c) => {
    c.app = 'Shop';
    local(c).instances = { min: 0 };
    awsOf(c).region = 'mars';
  });
  const issues = issuesOf(text);
  assert.equal(
    issues.map((issue) => issue.path),
    ['app', 'environments.local.instances.min', 'environments.staging.aws.region'],
  );
});

badInput('lists every issue in the error message and details', () => {
  try {
    parseConfig(
      validConfig((c) => {
        c.app = 'Shop';
        local(c).target = 'nowhere';
      }),
      '/tmp/x/deploy.yaml',
    );
    assert.unreachable('accepted');
  } catch (error) {
    assert.instance(error, ConfigError);
    const configError = error as ConfigError;
    assert.is(configError.message, '/tmp/x/deploy.yaml: 2 problems');
    assert.is(configError.exitCode, 2);
    assert.is(configError.details.length, 2);
    assert.match(configError.details[0] as string, /^app: "Shop" is not allowed/);
    assert.match(configError.details[1] as string, /^environments\.local\.target: "nowhere" is not allowed/);
  }
});

badInput.run();

// ---------------------------------------------------------------------------------------

const files = suite('loadConfig reads a file');
let dir = '';
files.before.each(() => {
  dir = makeTempDir();
});
files.after.each(() => removeDir(dir));

files('says when the file is missing and how to point at another one', async () => {
  try {
    await loadConfig(join(dir, 'missing.yaml'));
    assert.unreachable('loaded a missing file');
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.is((error as ConfigError).message, `${join(dir, 'missing.yaml')}: 1 problem`);
    assert.match(((error as ConfigError).issues[0] as ConfigIssue).message, 'file not found (pass --config PATH');
  }
});

files('says when the path is a directory', async () => {
  try {
    await loadConfig(dir);
    assert.unreachable('loaded a directory');
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.match(((error as ConfigError).issues[0] as ConfigIssue).message, 'cannot be read (EISDIR)');
  }
});

files('loads the repository deploy.yaml', async () => {
  const config = await loadConfig(join(REPO_ROOT, 'deploy.yaml'));
  assert.ok(config.environments.local);
  assert.is(config.environments.local?.target, 'local');
});

files.run();

// ---------------------------------------------------------------------------------------

const defaults = suite('a good deploy.yaml gets its defaults');

defaults('fills every default of a minimal local environment', () => {
  const config = parseConfig('app: shop\nenvironments:\n  local:\n    target: local\n', 'deploy.yaml');
  assert.equal(config, {
    file: 'deploy.yaml',
    app: 'shop',
    environments: {
      local: {
        name: 'local',
        app: 'shop',
        target: 'local',
        instances: { min: 1, desired: 2, max: 4 },
        service: bundledService(),
        health: { interval_s: 0.5, healthy_threshold: 2, unhealthy_threshold: 2, timeout_s: 1, deadline_s: 120 },
        image: { keep: 3, base_max_age_days: 7 },
        rollout: { canary: { instances: 1, bake_s: 10 }, max_error_rate: 0.01, min_requests: 20 },
        local: { port: 8080, base_image: 'debian:bookworm' },
      },
    },
  });
});

defaults('fills every default of a minimal aws environment', () => {
  const config = parseConfig(
    'app: shop\nenvironments:\n  staging:\n    target: aws\n    aws: { region: eu-west-1 }\n',
    'deploy.yaml',
  );
  assert.equal(config.environments.staging, {
    name: 'staging',
    app: 'shop',
    target: 'aws',
    instances: { min: 1, desired: 2, max: 4 },
    service: bundledService(),
    health: { interval_s: 10, healthy_threshold: 2, unhealthy_threshold: 2, timeout_s: 5, deadline_s: 900 },
    image: { keep: 3, base_max_age_days: 7 },
    rollout: { canary: { instances: 1, bake_s: 10 }, max_error_rate: 0.01, min_requests: 20 },
    aws: {
      region: 'eu-west-1',
      instance_type: 't3.micro',
      state: { backend: 'local' },
      logs: { retention_days: 30 },
      idle_timeout_s: 60,
      deregistration_delay_s: 30,
      instance_warmup_s: 30,
      root_volume_size_gb: 8,
      deletion_protection: true,
    },
    baseAmi: { owner: '136693071363', name: 'debian-12-amd64-*' },
  });
});

defaults('turns the canary off with null, 0 or false, and keeps a latency gate when set', () => {
  for (const off of ['null', '0', 'false']) {
    const config = parseConfig(
      `app: shop\nenvironments:\n  local:\n    target: local\n    rollout: { canary: ${off} }\n`,
      'deploy.yaml',
    );
    assert.equal(config.environments.local?.rollout.canary, { instances: 0, bake_s: 0 }, off);
  }
  const gated = parseConfig(
    'app: shop\nenvironments:\n  local:\n    target: local\n    rollout: { canary: { bake_s: 5 }, max_p99_ms: 250, max_error_rate: 0.05 }\n',
    'deploy.yaml',
  );
  assert.equal(gated.environments.local?.rollout, {
    canary: { instances: 1, bake_s: 5 },
    max_error_rate: 0.05,
    max_p99_ms: 250,
    min_requests: 20,
  });
});

defaults('accepts a health interval of a fraction of a second on local, with the default one-second timeout', () => {
  const config = parseConfig(
    'app: shop\nenvironments:\n  local:\n    target: local\n    health: { interval_s: 0.25 }\n',
    'deploy.yaml',
  );
  assert.equal(config.environments.local?.health, {
    interval_s: 0.25,
    healthy_threshold: 2,
    unhealthy_threshold: 2,
    timeout_s: 1,
    deadline_s: 120,
  });
});

defaults('keeps what the user set and defaults the rest', () => {
  const config = parseConfig(
    validConfig((c) => {
      local(c).instances = { desired: 3 };
      local(c).health = { deadline_s: 60 };
      local(c).local = { port: 9090 };
      awsOf(c).subnet_ids = ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'];
      awsOf(c).state = { backend: 's3', bucket: 'shop-state' };
      staging(c).image = { keep: 5, base: { name: 'debian-12-arm64-*' } };
    }),
  );
  const localEnv = config.environments.local;
  const awsEnv = config.environments.staging;
  if (localEnv?.target !== 'local' || awsEnv?.target !== 'aws') throw new Error('wrong targets');
  assert.equal(localEnv.instances, { min: 1, desired: 3, max: 4 });
  assert.equal(localEnv.health, {
    interval_s: 0.5,
    healthy_threshold: 2,
    unhealthy_threshold: 2,
    timeout_s: 1,
    deadline_s: 60,
  });
  assert.equal(localEnv.local, { port: 9090, base_image: 'debian:bookworm' });
  assert.equal(awsEnv.aws.state, { backend: 's3', bucket: 'shop-state' });
  assert.equal(awsEnv.aws.subnet_ids, ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']);
  assert.equal(awsEnv.image, { keep: 5, base_max_age_days: 7 });
  assert.equal(awsEnv.baseAmi, { owner: '136693071363', name: 'debian-12-amd64-*'.replace('amd64', 'arm64') });
});

defaults('treats an empty section as all defaults', () => {
  const config = parseConfig(
    'app: shop\nenvironments:\n  local:\n    target: local\n    instances:\n    health:\n    local:\n',
  );
  assert.equal(config.environments.local?.instances, { min: 1, desired: 2, max: 4 });
  assert.is(config.environments.local?.health.timeout_s, 1);
});

defaults('accepts an aws health interval of 5 s without an explicit timeout', () => {
  const config = parseConfig(
    validConfig((c) => {
      staging(c).health = { interval_s: 5 };
    }),
  );
  const health = config.environments.staging?.health;
  assert.is(health?.interval_s, 5);
  assert.ok(
    health !== undefined && health.timeout_s < health.interval_s && health.timeout_s >= 2,
    `timeout ${health?.timeout_s}`,
  );
});

defaults('accepts an aws stack name of exactly 32 characters', () => {
  const config = parseConfig(
    stringify({
      app: 'shop-frontend-eu',
      environments: { 'production-blue': { target: 'aws', aws: { region: 'eu-west-1' } } },
    }),
  );
  assert.is(`${config.app}-${config.environments['production-blue']?.name}`.length, 32);
});

defaults('gives two local environments on different ports both', () => {
  const config = parseConfig(
    stringify({
      app: 'shop',
      environments: { local: { target: 'local' }, second: { target: 'local', local: { port: 8081 } } },
    }),
  );
  assert.equal(Object.keys(config.environments), ['local', 'second']);
});

defaults('selects an environment by name and explains the others', () => {
  const config = parseConfig(validConfig());
  assert.is(selectEnvironment(config, 'staging').name, 'staging');
  assert.throws(() => selectEnvironment(config, 'prod'), /./);
  try {
    selectEnvironment(config, 'toString');
  } catch (error) {
    assert.match(
      ((error as ConfigError).issues[0] as ConfigIssue).message,
      'no environment named "toString"; defined: local, staging',
    );
    return;
  }
  assert.unreachable('found Object.prototype.toString as an environment');
});

defaults.run();

// ---------------------------------------------------------------------------------------

const cli = suite('./deploy.ts with a bad deploy.yaml exits 2 and starts nothing');
let cliDir = '';
cli.before.each(() => {
  cliDir = makeTempDir();
});
cli.after.each(() => removeDir(cliDir));

async function deployWith(text: string, ...args: string[]): Promise<Awaited<ReturnType<typeof runCli>>> {
  const file = join(cliDir, 'deploy.yaml');
  writeFileSync(file, text);
  return runCli('deploy.ts', ['--config', file, ...args]);
}

function assertNothingStarted(): void {
  assert.not.ok(existsSync(join(cliDir, '.deploy')), '.deploy/ was created next to the config');
}

cli('names the field path of an out-of-range number', async () => {
  const result = await deployWith(
    validConfig((c) => {
      local(c).instances = { max: 99 };
    }),
  );
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'environments.local.instances.max: 99 is out of range');
  assert.is(result.stdout, '');
  assertNothingStarted();
});

cli('reports three independent problems together', async () => {
  const result = await deployWith(
    validConfig((c) => {
      c.app = 'Shop';
      local(c).target = 'locl';
      awsOf(c).region = 'mars';
    }),
  );
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, '3 problems');
  assert.match(result.stderr, 'app: "Shop" is not allowed');
  assert.match(
    result.stderr,
    'environments.local.target: "locl" is not allowed: expected one of local, aws (did you mean "local"?)',
  );
  assert.match(result.stderr, 'environments.staging.aws.region: "mars" is not allowed');
  assertNothingStarted();
});

cli('shows the line and column of a YAML syntax error', async () => {
  const result = await deployWith('app: shop\nenvironments: local: {}\n');
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'YAML syntax error at line 2, column 15');
  assertNothingStarted();
});

cli('says an aws environment needs its aws block, even for --dry-run', async () => {
  const result = await deployWith(
    validConfig((c) => {
      delete staging(c).aws;
    }),
    'staging',
    '--dry-run',
  );
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'environments.staging.aws: is required for target "aws"');
  assertNothingStarted();
});

cli('prints the JSON summary with the error when --json is given', async () => {
  const result = await deployWith(
    validConfig((c) => {
      awsOf(c).state = { backend: 's3' };
    }),
    '--json',
  );
  assert.is(result.code, 2, result.stderr);
  const summary = JSON.parse(result.stdout) as { ok: boolean; exit_code: number; error: { details: string[] } };
  assert.is(summary.ok, false);
  assert.is(summary.exit_code, 2);
  assert.ok(
    summary.error.details.some((line) => line.startsWith('environments.staging.aws.state.bucket: is required')),
  );
  assertNothingStarted();
});

cli('says the file is missing', async () => {
  const result = await runCli('deploy.ts', ['--config', join(cliDir, 'nope.yaml')]);
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, `${join(cliDir, 'nope.yaml')}: 1 problem`);
  assert.match(result.stderr, 'file not found');
  assertNothingStarted();
});

cli('rejects an empty file', async () => {
  const result = await deployWith('');
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'the file is empty');
  assertNothingStarted();
});

cli.run();

const bomb = suite('an alias bomb in deploy.yaml');

bomb('is bad input with a message, not a crash', () => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (const [index, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) {
    const previous = String.fromCharCode('a'.charCodeAt(0) + index);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
  }
  const text = `${levels.join('\n')}\napp: shop\nenvironments:\n  local: { target: local }\n`;
  const error = thrownBy(ConfigError, () => parseConfig(text, 'deploy.yaml'));
  assert.is(error.exitCode, 2);
  assert.match(error.details.join('\n'), /YAML aliases expand too far .*: at most 100 alias uses are allowed/);
});

bomb.run();
