// The one schema of deploy.yaml. Types, defaults, validation and the JSON Schema for
// editors (schema/deploy.schema.json) all come from the declarations below.

import type { ConfigIssue } from '../errors.ts';
import {
  boolean,
  decimal,
  integer,
  integerIn,
  list,
  object,
  oneOf,
  optional,
  orOff,
  record,
  refine,
  show,
  string,
  type Infer,
  type Schema,
} from './schema-kit.ts';
import { envSchema, secretsSchema } from './settings.ts';

export const TARGETS = ['local', 'aws'] as const;
export type TargetName = (typeof TARGETS)[number];

const DNS_LABEL = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** An aws environment's stack and its load balancer are named APP-ENV; an ALB name allows 32 characters. */
export const MAX_AWS_STACK_NAME = 32;

/** The name of an aws environment's stack (and load balancer); load.ts keeps it within MAX_AWS_STACK_NAME. */
export function awsStackName(app: string, environment: string): string {
  return `${app}-${environment}`;
}

// Target tracking (target aws): the group grows and shrinks between min and max to keep
// one metric at its target. Exactly one metric: two target-tracking policies on one group
// would each scale out on their own and scale in only when both allow it.
export const scaleSchema = refine(
  object(
    {
      cpu_percent: optional(
        integer({
          description: "Average CPU use of the group's instances to hold, in percent (ASGAverageCPUUtilization).",
          min: 10,
          max: 90,
        }),
      ),
      requests_per_target: optional(
        integer({
          description:
            'Requests per instance per minute to hold, counted by the load balancer (ALBRequestCountPerTarget).',
          min: 1,
          max: 100_000,
        }),
      ),
    },
    {
      description:
        'Autoscaling between min and max on one metric (target aws; local runs desired instances): { cpu_percent: 60 } or { requests_per_target: 500 }.',
    },
  ),
  (value, path): ConfigIssue[] =>
    (value.cpu_percent === undefined) === (value.requests_per_target === undefined)
      ? [{ path, message: 'needs exactly one of cpu_percent or requests_per_target' }]
      : [],
);

export const instancesSchema = refine(
  object(
    {
      min: integer({ description: 'Fewest instances the group may shrink to.', min: 1, max: 20, default: 1 }),
      desired: integer({ description: 'Instances to run.', min: 1, max: 20, default: 2 }),
      max: integer({
        description: 'Most instances the group may grow to (rollouts surge up to desired more on local).',
        min: 1,
        max: 20,
        default: 4,
      }),
      scale: optional(scaleSchema),
    },
    { description: 'How many instances run the service.', defaultToEmpty: true },
  ),
  (value, path): ConfigIssue[] =>
    value.min <= value.desired && value.desired <= value.max
      ? []
      : [{ path, message: `min (${value.min}) must be <= desired (${value.desired}) <= max (${value.max})` }],
);

// Where the app comes from and how it is served. Shared by the top-level `service` and
// each environment's (which overrides it key by key); absent means the bundled demo.
const GIT_URL = /^(https:\/\/|ssh:\/\/|file:\/\/|git@[A-Za-z0-9.-]+:)\S+$/;

export interface GitSource {
  git: string;
  ref: string;
}
export type ServiceSource = string | GitSource;

const gitSourceSchema = object(
  {
    git: string({
      description: 'Git URL of the app (https, ssh or file).',
      pattern: GIT_URL,
      allowed: 'a git URL starting with https://, ssh://, file:// or git@host:',
      maxLength: 2000,
    }),
    ref: string({
      description: 'Branch, tag or commit to deploy; resolved to a commit at bake time.',
      pattern: /^[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$/,
      allowed: 'a branch, tag or commit such as "main" or "v1.4.2"',
      default: 'HEAD',
    }),
  },
  { description: 'A git source: URL and ref.' },
);

/** A directory (relative to deploy.yaml) or { git, ref }. */
const sourceSchema: Schema<ServiceSource> = {
  description:
    'Where the app comes from: a directory relative to deploy.yaml, or { git: URL, ref: REF } (default: the bundled demo in service/).',
  fallback: undefined,
  check(value, path, issues) {
    if (typeof value === 'string') {
      if (value.trim() === '' || value.includes('\0')) {
        issues.push({ path, message: `${JSON.stringify(value)} is not allowed: expected a directory or { git, ref }` });
        return undefined;
      }
      return value;
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return gitSourceSchema.check(value, path, issues);
    issues.push({ path, message: `${show(value)} is not allowed: expected a directory or { git: URL, ref: REF }` });
    return undefined;
  },
  jsonSchema: () => ({
    description: sourceSchema.description,
    oneOf: [{ type: 'string' }, gitSourceSchema.jsonSchema()],
  }),
};

export const ENTRYPOINT =
  /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\(\))?$/;
export const INTERFACES = ['wsgi', 'asgi'] as const;
export type AppInterface = (typeof INTERFACES)[number];

const INDEX_URL = /^https?:\/\/\S+$/;
const indexUrl = (description: string) =>
  string({ description, pattern: INDEX_URL, allowed: 'an http(s) URL of a PEP 503 index', maxLength: 2000 });

// Commands around the app's life (stages/release-commands.ts, roles/app/tasks/build.yml): each runs with
// /bin/sh -c in the app's directory as the service user, the venv first on PATH.
const command = (description: string) =>
  string({
    description,
    // Not blank, one line of at most 4096 characters (a shell script belongs in the source).
    // No look-ahead: Packer and Terraform check the same pattern with Go's RE2.
    pattern: /^[^\n\r\0]*[^\s\0][^\n\r\0]*$/,
    maxLength: 4096,
    allowed: 'a non-empty one-line shell command such as "python manage.py migrate --no-input"',
  });

export const DEFAULT_RELEASE_TIMEOUT_S = 600;

const lifecycleFields = {
  build: optional(
    list(command('Command run at bake time.'), {
      description:
        "Commands run at bake time in the image's app directory, after the venv, with no runtime settings (e.g. collectstatic); their output is in the image, the commands are in the fingerprint.",
      maxItems: 20,
    }),
  ),
  release: optional(
    list(command('Command run before a release serves.'), {
      description:
        "Commands run once per deploy that changes the image or the runtime settings, on the new image with the environment's settings, before any of its instances takes traffic (e.g. migrations); a failure stops the deploy, the old release keeps serving.",
      maxItems: 20,
    }),
  ),
  release_timeout_s: optional(
    integer({
      description: `Seconds the release commands may take in all before they are stopped and the deploy fails (default ${DEFAULT_RELEASE_TIMEOUT_S}).`,
      min: 1,
      max: 86_400,
    }),
  ),
};

const appFields = {
  source: optional(sourceSchema),
  entrypoint: optional(
    string({
      description:
        "The app: module:attribute, or module:factory() for an app factory (default: the demo's bakery_service:create_app()).",
      pattern: ENTRYPOINT,
      allowed: 'module:attribute or module:factory(), such as "shop.wsgi:application"',
      maxLength: 200,
    }),
  ),
  interface: optional(
    oneOf(INTERFACES, { description: 'How the app is served: wsgi (Waitress) or asgi (Uvicorn) (default wsgi).' }),
  ),
  requirements: optional(
    string({
      description: 'pip requirements file, relative to the source; resolved into a wheelhouse at bake time.',
      pattern: /^[^\0]{1,500}$/,
      allowed: 'a file path relative to the source',
    }),
  ),
  index_url: optional(indexUrl('Package index for the requirements (default: PyPI).')),
  extra_index_urls: optional(
    list(indexUrl('Extra package index.'), {
      description: 'Extra package indexes for the requirements.',
      maxItems: 10,
    }),
  ),
  packages: optional(
    list(
      string({
        description: 'Debian package name.',
        pattern: /^[a-z0-9][a-z0-9+.-]{1,100}$/,
        allowed: 'a Debian package name such as "libpq5"',
      }),
      { description: 'Debian packages the app needs at run time.', maxItems: 100 },
    ),
  ),
  ...lifecycleFields,
};

const PORT_DESCRIPTION = 'TCP port the service listens on inside each instance.';
const HEALTH_PATH = {
  description: 'Path the load balancer and the verify stage poll.',
  pattern: /^\/[A-Za-z0-9._~/-]*$/,
  allowed: 'an absolute URL path such as "/health"',
  maxLength: 200,
};

export const serviceSchema = object(
  {
    port: integer({ description: PORT_DESCRIPTION, min: 1024, max: 65535, default: 8080 }),
    health_path: string({ ...HEALTH_PATH, default: '/health' }),
    ...appFields,
    // Per environment only (not in the top-level service): settings differ by environment.
    env: optional(envSchema),
    secrets: optional(secretsSchema),
  },
  { description: 'The service inside the image (overrides the top-level service key by key).', defaultToEmpty: true },
);

/** The top-level service: every key optional, each environment's service overrides it. */
export const sharedServiceSchema = object(
  {
    port: optional(integer({ description: PORT_DESCRIPTION, min: 1024, max: 65535 })),
    health_path: optional(string(HEALTH_PATH)),
    ...appFields,
  },
  { description: 'The app and how it is served, shared by all environments.' },
);

// Health defaults differ by target (the ALB allows whole intervals of 5 s at the least,
// HAProxy checks every fraction of a second happily), so fields without a value get the
// target's default in load.ts rather than here, and each target's kind checks its limits.
export const healthSchema = object(
  {
    interval_s: optional(
      decimal({
        description:
          'Seconds between health checks (default: local 0.5, fractions allowed, e.g. 0.25; aws 10, whole seconds from 5 to 300).',
        min: 0.1,
        max: 300,
      }),
    ),
    healthy_threshold: optional(
      integer({
        description: 'Consecutive successes before an instance counts as healthy (default 2).',
        min: 2,
        max: 10,
      }),
    ),
    unhealthy_threshold: optional(
      integer({
        description: 'Consecutive failures before an instance counts as unhealthy (default 2).',
        min: 2,
        max: 10,
      }),
    ),
    timeout_s: optional(
      integer({
        description:
          'Seconds one health check may take; less than interval_s where interval_s > 1 (default: local 1, aws 5, at most interval_s - 1 and at least 1).',
        min: 1,
        max: 120,
      }),
    ),
    deadline_s: optional(
      integer({
        description:
          'Seconds a rollout may take to become healthy before it is abandoned (default: local 120, aws 900).',
        min: 10,
        max: 3600,
      }),
    ),
  },
  { description: 'Health checking, for the load balancer and the verify stage.', defaultToEmpty: true },
);

export const HEALTH_DEFAULTS: Record<TargetName, Required<Infer<typeof healthSchema>>> = {
  local: { interval_s: 0.5, healthy_threshold: 2, unhealthy_threshold: 2, timeout_s: 1, deadline_s: 120 },
  aws: { interval_s: 10, healthy_threshold: 2, unhealthy_threshold: 2, timeout_s: 5, deadline_s: 900 },
};

export const imageSchema = object(
  {
    keep: integer({
      description: 'Baked images to keep per app and environment (the one in use is never deleted).',
      min: 1,
      max: 50,
      default: 3,
    }),
    base_max_age_days: integer({
      description:
        'Bake the base layer (OS, hardening, packages) again once it is older than this many days, so security updates are not frozen in it.',
      min: 1,
      max: 365,
      default: 7,
    }),
    base: optional(
      object(
        {
          owner: string({
            description: 'AWS account that owns the base AMI.',
            pattern: /^(\d{12}|amazon|self)$/,
            allowed: 'a 12-digit account id, "amazon" or "self"',
            default: '136693071363',
          }),
          name: string({
            description: 'AMI name filter (wildcards allowed).',
            pattern: /^[A-Za-z0-9 ()[\]./'@_*?-]{3,128}$/,
            allowed: 'an AMI name filter such as "debian-12-amd64-*"',
            default: 'debian-12-amd64-*',
          }),
        },
        { description: 'Base AMI filter (target aws; the newest match is used).', defaultToEmpty: true },
      ),
    ),
  },
  { description: 'Baked images.', defaultToEmpty: true },
);

/** The canary that is off: no instance bakes first, the rollout replaces the fleet at once. */
export const NO_CANARY = { instances: 0, bake_s: 0 } as const;

// Release safety: a canary that takes real traffic and is judged on live error rates
// and latency before the rest of the fleet is replaced. On by default, and short: a bad
// release should be stopped, but a good one should not wait long for it.
export const rolloutSchema = object(
  {
    canary: orOff(
      object(
        {
          instances: integer({
            description: 'Instances started first, on the new image, next to the old fleet (0: no canary).',
            min: 0,
            max: 20,
            default: 1,
          }),
          bake_s: integer({
            description:
              'Most seconds the canary takes its share of real traffic (target local: it stops sooner once the evidence decides).',
            min: 0,
            max: 3600,
            default: 10,
          }),
          min_requests: optional(
            integer({
              description:
                'Target local: requests the canary must serve before it may pass early, on evidence (default: enough for its 95% Wilson upper bound to show max_error_rate, and a 1% share slower than max_p99_ms; 268 for 0.01).',
              min: 1,
              max: 100_000,
            }),
          ),
          too_little_traffic: optional(
            oneOf(['pass', 'fail'] as const, {
              description:
                'Target local: the verdict when the window ends with fewer than rollout.min_requests requests served (pass, the default: fail open; fail: fail closed).',
            }),
          ),
        },
        { description: 'The canary step of a rollout; null or 0 turns it off.', defaultToEmpty: true },
      ),
      NO_CANARY,
      { offValues: [0, false] },
    ),
    max_error_rate: decimal({
      description:
        "Highest share of the canary's requests that may fail (5xx, connection or response errors) while the old fleet does better.",
      min: 0,
      max: 1,
      default: 0.01,
    }),
    max_p99_ms: optional(
      integer({
        description: 'Highest 99th-percentile response time of the canary, in milliseconds (default: no latency gate).',
        min: 1,
        max: 600_000,
      }),
    ),
    min_requests: integer({
      description:
        'Requests the canary must have served for its error rate to count; with fewer it is not judged (and says so).',
      min: 1,
      max: 100_000,
      default: 20,
    }),
    alarm_email: optional(
      string({
        description:
          "E-mail address subscribed to the stack's alarm topic (target aws; AWS asks the address to confirm).",
        pattern: /^[^@\s]+@[^@\s]+\.[^@\s]+$/,
        maxLength: 254,
        allowed: 'an e-mail address such as "ops@example.com"',
      }),
    ),
  },
  { description: 'How a new image replaces the fleet: canary first, judged on live traffic.', defaultToEmpty: true },
);

export const localSchema = object(
  {
    port: integer({
      description: 'Port on 127.0.0.1 where the local load balancer listens.',
      min: 1,
      max: 65535,
      default: 8080,
    }),
    base_image: string({
      description: 'Docker image to bake from (Debian 12).',
      pattern: /^[a-z0-9]+([._/:@-][A-Za-z0-9]+)*$/,
      allowed: 'a Docker image reference such as "debian:bookworm"',
      default: 'debian:bookworm',
    }),
  },
  { description: 'Settings of the local target (Docker + HAProxy).', defaultToEmpty: true },
);

const stateSchema = refine(
  object(
    {
      backend: oneOf(['local', 's3'] as const, { description: 'Where Terraform keeps its state.', default: 'local' }),
      bucket: optional(
        string({
          description: 'S3 bucket for the state (backend s3).',
          pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
          allowed: 'an S3 bucket name',
        }),
      ),
      key: optional(
        string({
          description: 'Object key of the state (backend s3; default bakery/APP/ENV/terraform.tfstate).',
          pattern: /^[A-Za-z0-9!_.*'()/-]{1,1024}$/,
          allowed: 'an S3 object key',
        }),
      ),
      region: optional(
        string({
          description: 'Region of the state bucket (default: aws.region).',
          pattern: /^[a-z]{2}(-gov)?-[a-z]+-\d$/,
          allowed: 'an AWS region such as "eu-west-1"',
        }),
      ),
    },
    { description: 'Terraform state.', defaultToEmpty: true },
  ),
  (value, path): ConfigIssue[] => {
    if (value.backend === 's3' && !value.bucket)
      return [{ path: `${path}.bucket`, message: 'is required when backend is "s3"' }];
    if (value.backend === 'local' && (value.bucket || value.key || value.region)) {
      return [
        { path: `${path}.backend`, message: '"local" takes no bucket, key or region: set backend: s3 or remove them' },
      ];
    }
    return [];
  },
);

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy), in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const awsLogsSchema = object(
  {
    retention_days: integerIn(LOG_RETENTION_DAYS, {
      description:
        "Days CloudWatch Logs keeps the environment's log group (the service's journal, release and one-off output).",
      default: 30,
    }),
  },
  {
    description:
      "The environment's CloudWatch log group, which each instance's journal reaches through a VPC endpoint (status.ts --logs reads it).",
    defaultToEmpty: true,
  },
);

// Outbound traffic the instances may send besides what bakery opens itself (the CloudWatch
// Logs and SSM endpoints, the database): TCP to one port of an IPv4 range or of a managed
// prefix list. None by default. A range on the internet also needs a route out of the
// subnets (preflight.ts says so).
const IPV4_CIDR =
  /^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\/([0-9]|[12][0-9]|3[0-2])$/;

export const egressRuleSchema = refine(
  object(
    {
      cidr: optional(
        string({
          description: 'IPv4 range the instances may connect to.',
          pattern: IPV4_CIDR,
          allowed: 'an IPv4 CIDR block such as "0.0.0.0/0" or "10.20.0.0/16"',
        }),
      ),
      prefix_list: optional(
        string({
          description: 'Managed prefix list the instances may connect to (an AWS service or your own list).',
          pattern: /^pl-[0-9a-f]{8,17}$/,
          allowed: 'a prefix list id such as "pl-0123456789abcdef0"',
        }),
      ),
      port: integer({ description: 'TCP port.', min: 1, max: 65535 }),
    },
    { description: 'One outbound rule: TCP to port of cidr or of prefix_list (exactly one of the two).' },
  ),
  (value, path): ConfigIssue[] =>
    (value.cidr === undefined) === (value.prefix_list === undefined)
      ? [{ path, message: 'needs exactly one of cidr or prefix_list' }]
      : [],
);

/** Tag keys bakery sets itself (and the guard tag the deploy policy checks) or AWS reserves. */
const RESERVED_TAG_PREFIXES = ['bakery:', 'aws:'] as const;

const tagsSchema = refine(
  record(
    string({
      description: 'Tag value.',
      pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u,
      allowed: 'letters, digits, spaces and _ . : / = + - @',
      maxLength: 256,
    }),
    {
      description:
        'Extra tags on every resource of the stack, merged under bakery:app, bakery:env and bakery:managed-by.',
      keyPattern: /^[A-Za-z0-9_.:/=+\-@ ]{1,128}$/,
      keyAllowed: 'a tag key of 1 to 128 letters, digits, spaces and _ . : / = + - @',
    },
  ),
  (value, path): ConfigIssue[] =>
    Object.keys(value)
      .filter((key) => RESERVED_TAG_PREFIXES.some((prefix) => key.toLowerCase().startsWith(prefix)))
      .map((key) => ({
        path: `${path}.${key}`,
        message: `uses a reserved prefix (${RESERVED_TAG_PREFIXES.join(', ')}): bakery sets its own tags, AWS reserves aws:`,
      })),
);

export const awsSchema = object(
  {
    region: string({
      description: 'AWS region to deploy to.',
      pattern: /^[a-z]{2}(-gov)?-[a-z]+-\d$/,
      allowed: 'an AWS region such as "eu-west-1"',
    }),
    vpc_id: optional(
      string({
        description: "VPC to deploy into (default: the region's default VPC).",
        pattern: /^vpc-[0-9a-f]{8,17}$/,
        allowed: 'a VPC id such as "vpc-0123456789abcdef0"',
      }),
    ),
    subnet_ids: optional(
      list(
        string({
          description: 'Subnet id.',
          pattern: /^subnet-[0-9a-f]{8,17}$/,
          allowed: 'a subnet id such as "subnet-0123456789abcdef0"',
        }),
        {
          description:
            "Subnets for the load balancer and instances, in at least two availability zones (default: the VPC's default subnets).",
          minItems: 2,
          maxItems: 16,
        },
      ),
    ),
    instance_type: string({
      description: 'EC2 instance type.',
      pattern: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
      allowed: 'an instance type such as "t3.micro"',
      default: 't3.micro',
    }),
    certificate_arn: optional(
      string({
        description: 'ACM certificate for HTTPS on the load balancer.',
        pattern: /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/,
        allowed: 'an ACM certificate ARN',
      }),
    ),
    kms_key_id: optional(
      string({
        description:
          "Customer managed KMS key (its ARN, in the environment's region) that encrypts the AMIs' root volumes, and so their snapshots and the instances' volumes made from them (default: the account's key for EBS). The key policy must let EC2 use it for the deploying identity and the Auto Scaling service-linked role.",
        pattern:
          /^arn:aws[a-z-]*:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
        allowed: 'a KMS key ARN such as "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"',
      }),
    ),
    state: stateSchema,
    logs: awsLogsSchema,
    idle_timeout_s: integer({
      description:
        "Seconds the load balancer keeps an idle connection open; below the service's 75 s keep-alive, so the load balancer, not the instance, closes idle connections.",
      min: 1,
      max: 74,
      default: 60,
    }),
    deregistration_delay_s: integer({
      description: 'Seconds the load balancer lets in-flight requests finish on an instance being removed.',
      min: 0,
      max: 3600,
      default: 30,
    }),
    instance_warmup_s: integer({
      description:
        "Seconds a new instance counts as warming up after it is in service (the group's default_instance_warmup: scaling and refreshes leave its metrics out meanwhile).",
      min: 0,
      max: 3600,
      default: 30,
    }),
    root_volume_size_gb: integer({
      description: "Size of each instance's encrypted gp3 root volume in GiB (at least the AMI's, 8 for Debian 12).",
      min: 8,
      max: 1024,
      default: 8,
    }),
    tags: optional(tagsSchema),
    deletion_protection: boolean({
      description:
        "The load balancer's deletion protection; ./destroy.ts turns it off after its confirmation, and says so.",
      default: true,
    }),
    egress: optional(
      list(egressRuleSchema, {
        description:
          "Outbound TCP the instances may open, exactly these rules (default none): HTTPS to the internet also needs a NAT gateway in the subnets' route (the instances have no public IP).",
        maxItems: 50,
      }),
    ),
  },
  { description: 'Settings of the aws target (Terraform, Auto Scaling Group, ALB).' },
);

export const DATABASE_ENGINES = ['postgres'] as const;

/** The aws database's defaults: its keys are optional in the schema so a local environment can be told it wrote one. */
export const AWS_DATABASE_DEFAULTS = {
  instance_class: 'db.t4g.micro',
  storage_gb: 20,
  multi_az: false,
  backup_retention_days: 7,
} as const;

/** Keys of `database` that only the aws target (RDS) reads. */
export const AWS_DATABASE_KEYS = ['instance_class', 'storage_gb', 'multi_az', 'backup_retention_days'] as const;

// A database per environment; its URL reaches the service, the release and one-off
// commands as the secret DATABASE_URL. Local: a PostgreSQL container with a named volume;
// aws: RDS, sized by the aws-only keys.
export const databaseSchema = object(
  {
    engine: oneOf(DATABASE_ENGINES, { description: 'Database engine (only postgres: PostgreSQL 15).' }),
    instance_class: optional(
      string({
        description: `RDS instance class (target aws only; default ${AWS_DATABASE_DEFAULTS.instance_class}).`,
        pattern: /^db\.[a-z0-9]+\.[a-z0-9]+$/,
        allowed: 'an RDS instance class such as "db.t4g.micro"',
        maxLength: 40,
      }),
    ),
    storage_gb: optional(
      integer({
        description: `Allocated storage in GiB (target aws only; default ${AWS_DATABASE_DEFAULTS.storage_gb}).`,
        // RDS for PostgreSQL (gp2/gp3) allows 20 GiB to 64 TiB.
        min: 20,
        max: 65_536,
      }),
    ),
    multi_az: optional(
      boolean({
        description: `A standby in a second availability zone (target aws only; default ${String(AWS_DATABASE_DEFAULTS.multi_az)}).`,
      }),
    ),
    backup_retention_days: optional(
      integer({
        description: `Days RDS keeps automated backups (target aws only; default ${AWS_DATABASE_DEFAULTS.backup_retention_days}).`,
        // RDS's own limits; 0 (no backups) is not offered.
        min: 1,
        max: 35,
      }),
    ),
  },
  {
    description:
      "The environment's database; its URL reaches the service, release and one-off commands as the secret DATABASE_URL (local: a PostgreSQL container with a named volume; aws: RDS).",
  },
);

export const environmentSchema = object(
  {
    target: oneOf(TARGETS, { description: 'Where this environment runs.' }),
    instances: instancesSchema,
    service: serviceSchema,
    health: healthSchema,
    image: imageSchema,
    rollout: rolloutSchema,
    local: optional(localSchema),
    aws: optional(awsSchema),
    database: optional(databaseSchema),
  },
  { description: 'One deployment environment.' },
);

/** Hours a preview lives before `destroy.ts --previews` sweeps it (the default of --older-than). */
export const DEFAULT_PREVIEW_TTL_HOURS = 72;

// The template of preview environments (pr-12, or any --preview NAME): the environment
// `from`, with these keys in place of its own. Each preview is an environment of its own
// (config/previews.ts derives its names, ports and state).
export const previewsSchema = refine(
  object(
    {
      from: string({
        description: 'The environment each preview copies (target, service, settings); the keys below replace its own.',
        pattern: DNS_LABEL,
        allowed: 'the name of an environment under environments',
      }),
      instances: optional(instancesSchema),
      database: optional(databaseSchema),
      env: optional(envSchema),
      ttl_hours: integer({
        description:
          'Hours after its first deploy that a preview counts as stale for destroy.ts --previews (the default of --older-than).',
        min: 1,
        max: 8760,
        default: DEFAULT_PREVIEW_TTL_HOURS,
      }),
      seed: optional(command('Command run once, after the first release of each preview (e.g. loading demo data).')),
      local_ports: object(
        {
          first: integer({
            description: 'Lowest port a local preview may take.',
            min: 1024,
            max: 65535,
            default: 8100,
          }),
          last: integer({
            description: 'Highest port a local preview may take.',
            min: 1024,
            max: 65535,
            default: 8199,
          }),
        },
        {
          description:
            "Ports on 127.0.0.1 for local previews' load balancers; each preview keeps the one it got until it is destroyed.",
          defaultToEmpty: true,
        },
      ),
    },
    { description: 'Preview environments (one per pull request), made from one environment.' },
  ),
  (value, path): ConfigIssue[] =>
    value.local_ports.first <= value.local_ports.last
      ? []
      : [
          {
            path: `${path}.local_ports`,
            message: `first (${value.local_ports.first}) must be <= last (${value.local_ports.last})`,
          },
        ],
);

export const configSchema = object(
  {
    app: string({
      description: 'Application name, used in every resource name.',
      pattern: DNS_LABEL,
      maxLength: 20,
      allowed: 'a DNS-safe name: lower-case letters, digits and "-", starting with a letter, at most 20 characters',
    }),
    environments: record(environmentSchema, {
      description: 'Named environments.',
      keyPattern: DNS_LABEL,
      keyAllowed: 'lower-case letters, digits and "-", starting with a letter',
      minEntries: 1,
    }),
    service: optional(sharedServiceSchema),
    previews: optional(previewsSchema),
  },
  { description: 'bakery deployment configuration (deploy.yaml).' },
);

export type RawConfig = Infer<typeof configSchema>;
export type RawEnvironment = Infer<typeof environmentSchema>;
export type Instances = Infer<typeof instancesSchema>;
export type RawServiceSettings = Infer<typeof serviceSchema>;
export type RawPreviews = Infer<typeof previewsSchema>;

/** Where the app comes from, resolved: the bundled demo, a directory (absolute) or a git ref. */
export type AppSource =
  | { kind: 'bundled' }
  | { kind: 'directory'; path: string; key: string }
  | { kind: 'git'; url: string; ref: string; key: string };

/** The demo's entrypoint, served when no service.source is given. */
export const BUNDLED_ENTRYPOINT = 'bakery_service:create_app()';

export interface ServiceSettings {
  port: number;
  health_path: string;
  source: AppSource;
  entrypoint: string;
  interface: AppInterface;
  /** Relative to the source. */
  requirements?: string;
  index_url?: string;
  extra_index_urls: string[];
  packages: string[];
  /** Commands run at bake time (in the fingerprint). */
  build: string[];
  /** Commands run once per deploy on the new image, before it serves (not in the fingerprint). */
  release: string[];
  release_timeout_s: number;
  /** Runtime variables, delivered at start; never in the fingerprint or the image. */
  env: Record<string, string>;
  /** Secret variables by reference (settings.ts); their values are read at deploy (local) or boot (aws). */
  secrets: Record<string, string>;
}
export type HealthSettings = Required<Infer<typeof healthSchema>>;
export type LocalSettings = Infer<typeof localSchema>;
export type RolloutSettings = Infer<typeof rolloutSchema>;
export type AwsSettings = Infer<typeof awsSchema>;
export type BaseAmi = { owner: string; name: string };
export type DatabaseEngine = (typeof DATABASE_ENGINES)[number];

/** An aws environment's database, defaults applied (what the RDS instance is made from). */
export interface DatabaseSettings {
  engine: DatabaseEngine;
  instance_class: string;
  storage_gb: number;
  multi_az: boolean;
  backup_retention_days: number;
}

/** A local environment's database: the engine only (a container; nothing to size). */
export type LocalDatabaseSettings = Pick<DatabaseSettings, 'engine'>;

interface EnvironmentCommon {
  /** The environment's name (its key under environments). */
  name: string;
  app: string;
  instances: Instances;
  service: ServiceSettings;
  health: HealthSettings;
  image: { keep: number; base_max_age_days: number };
  rollout: RolloutSettings;
  /** Set on a preview environment (config/previews.ts): what it was asked as and made from. */
  preview?: PreviewOf;
}

/** What makes an environment a preview. */
export interface PreviewOf {
  /** The name it was asked for (--preview NAME); the environment's name may be a shortened form of it. */
  name: string;
  /** The environment it copies. */
  from: string;
  ttl_hours: number;
  seed?: string;
  /** The seed has not run yet: this deploy runs it as its last release command (operate/previews.ts). */
  seedPending?: boolean;
}

export interface LocalEnvironment extends EnvironmentCommon {
  target: 'local';
  local: LocalSettings;
  database?: LocalDatabaseSettings;
}

export interface AwsEnvironment extends EnvironmentCommon {
  target: 'aws';
  aws: AwsSettings;
  baseAmi: BaseAmi;
  database?: DatabaseSettings;
}

export type Environment = LocalEnvironment | AwsEnvironment;

export interface Config {
  file: string;
  app: string;
  environments: Record<string, Environment>;
  /** The preview template, when deploy.yaml has one: makes a preview environment by name (config/previews.ts). */
  previews?: PreviewTemplate;
}

export interface PreviewTemplate {
  from: string;
  ttl_hours: number;
  seed?: string;
  local_ports: { first: number; last: number };
  /** The preview environment with this (derived) name and, on local, this port; throws a ConfigError when it cannot be made. */
  environment(name: string, requested: string, port: number | undefined): Environment;
}

/** The JSON Schema for editors (yaml-language-server), generated from the same declarations. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'bakery deploy.yaml',
    ...configSchema.jsonSchema(),
  };
}
