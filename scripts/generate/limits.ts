// The one mapping from deploy.yaml's schema (pipeline/config/schema.ts) to the inputs of
// Terraform, Packer and the Ansible roles. Every limit those layers check comes from the
// schema through this table; scripts/generate-schema.ts writes the checks from it:
//   terraform/variables.gen.tf, packer/variables.gen.pkr.hcl,
//   ansible/roles/*/meta/argument_specs.yml and ansible/roles/*/tasks/arguments.yml.
// Inputs deploy.yaml has no key for (set by the runner, or a role's own options) carry
// their limits here, written as the same JSON Schema nodes, so each limit still has one home.
//
// Schema paths name user-chosen keys as <name>; `environments.<name>` names the key itself.

/** The subset of JSON Schema the generators read. */
export interface Node {
  type?: string | string[];
  enum?: Array<string | number>;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: Node;
  properties?: Record<string, Node>;
  additionalProperties?: Node | boolean;
  propertyNames?: { pattern?: string };
}

/** Where an input's limits come from: a deploy.yaml key, or a node written here. */
export type Source = { schema: string } | { own: Node; why: string };

const schema = (path: string): Source => ({ schema: path });
const ENV = 'environments.<name>';

// Set by the runner, not read from deploy.yaml: the bake's layer and the fingerprint.
const BAKE_LAYER: Source = {
  own: { enum: ['all', 'base', 'app'], description: 'Which layer the bake installs.' },
  why: 'set by the runner, not a deploy.yaml key',
};
const FINGERPRINT: Source = {
  own: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'sha256 of what the image is baked from.' },
  why: 'set by the runner, not a deploy.yaml key',
};
const VERSION: Source = {
  own: { type: 'string', pattern: '^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$', description: 'Version of the service.' },
  why: 'set by the runner, not a deploy.yaml key',
};

/** A check a layer adds to the schema's own limits: a cross-field rule or a limit of that layer. */
export interface Extra {
  /** Why the rule is not in the schema. */
  why: string;
  condition: string;
  message: string;
}

// ---------------------------------------------------------------------------- Terraform

export interface TerraformVariable {
  name: string;
  description: string;
  /** HCL type expression, as written in the declaration. */
  type: string;
  /** HCL default, as written; absent means the variable is required. */
  default?: string;
  nullable: boolean;
  /** The whole variable from one key, or its object attributes from one key each. */
  value?: Source;
  attributes?: Record<string, Source>;
  /** For a list of objects: each item's attributes from one key each (checked in every item). */
  items?: Record<string, Source>;
  /** How an absent optional key arrives: null, or an empty list. */
  absent?: 'null' | 'empty';
  extra?: Extra[];
}

export const TERRAFORM: TerraformVariable[] = [
  {
    name: 'app',
    description: 'Application name (deploy.yaml app); tagged as bakery:app on every resource.',
    type: 'string',
    nullable: false,
    value: schema('app'),
  },
  {
    name: 'environment',
    description: 'Environment name (deploy.yaml environments key); tagged as bakery:env on every resource.',
    type: 'string',
    nullable: false,
    value: schema(ENV),
  },
  {
    name: 'region',
    description: 'AWS region to deploy to.',
    type: 'string',
    nullable: false,
    value: schema(`${ENV}.aws.region`),
  },
  {
    name: 'vpc_id',
    description: "VPC to deploy into; null means the region's default VPC.",
    type: 'string',
    default: 'null',
    nullable: true,
    value: schema(`${ENV}.aws.vpc_id`),
    absent: 'null',
  },
  {
    name: 'subnet_ids',
    description:
      'Subnets for the load balancer and the instances, in at least two availability zones; empty means the default subnets of the VPC.',
    type: 'list(string)',
    default: '[]',
    nullable: false,
    value: schema(`${ENV}.aws.subnet_ids`),
    absent: 'empty',
    extra: [
      {
        why: 'the schema has no "unique items" rule',
        condition: 'length(distinct(var.subnet_ids)) == length(var.subnet_ids)',
        message: 'subnet_ids must not repeat a subnet.',
      },
    ],
  },
  {
    name: 'instance_type',
    description: 'EC2 instance type of the instances.',
    type: 'string',
    default: '"t3.micro"',
    nullable: false,
    value: schema(`${ENV}.aws.instance_type`),
  },
  {
    name: 'instances',
    description: 'Size of the Auto Scaling group.',
    type: 'object({\n    min     = number\n    desired = number\n    max     = number\n  })',
    nullable: false,
    attributes: {
      min: schema(`${ENV}.instances.min`),
      desired: schema(`${ENV}.instances.desired`),
      max: schema(`${ENV}.instances.max`),
    },
    extra: [
      {
        why: 'a cross-field rule (the refine of instancesSchema in pipeline/config/schema.ts)',
        condition: 'var.instances.min <= var.instances.desired && var.instances.desired <= var.instances.max',
        message: 'instances must satisfy min <= desired <= max.',
      },
    ],
  },
  {
    name: 'scaling',
    description:
      "Target tracking between instances.min and instances.max: the group's average CPU in percent (ASGAverageCPUUtilization) or the load balancer's requests per instance per minute (ALBRequestCountPerTarget), exactly one. null means no scaling policy: the group keeps instances.desired.",
    type: 'object({\n    cpu_percent         = optional(number)\n    requests_per_target = optional(number)\n  })',
    default: 'null',
    nullable: true,
    attributes: {
      cpu_percent: schema(`${ENV}.instances.scale.cpu_percent`),
      requests_per_target: schema(`${ENV}.instances.scale.requests_per_target`),
    },
    extra: [
      {
        why: 'a cross-field rule (the refine of scaleSchema in pipeline/config/schema.ts)',
        condition:
          'var.scaling == null || try((var.scaling.cpu_percent == null) != (var.scaling.requests_per_target == null), false)',
        message: 'scaling must set exactly one of cpu_percent and requests_per_target.',
      },
    ],
  },
  {
    name: 'egress',
    description:
      'Outbound rules of the instances besides those bakery opens itself: TCP to port of an IPv4 range (cidr) or of a managed prefix list (prefix_list), exactly one of the two per rule. Empty means none.',
    type: 'list(object({\n    cidr        = optional(string)\n    prefix_list = optional(string)\n    port        = number\n  }))',
    default: '[]',
    nullable: false,
    value: schema(`${ENV}.aws.egress`),
    absent: 'empty',
    items: {
      cidr: schema(`${ENV}.aws.egress.[].cidr`),
      prefix_list: schema(`${ENV}.aws.egress.[].prefix_list`),
      port: schema(`${ENV}.aws.egress.[].port`),
    },
    extra: [
      {
        why: 'a cross-field rule (the refine of egressRuleSchema in pipeline/config/schema.ts)',
        condition: 'alltrue([for rule in var.egress : (rule.cidr == null) != (rule.prefix_list == null)])',
        message: 'egress: each rule must set exactly one of cidr and prefix_list.',
      },
      {
        why: 'one security group rule per destination and port',
        condition:
          'length(distinct([for rule in var.egress : "${coalesce(rule.cidr, rule.prefix_list, "-")}:${rule.port}"])) == length(var.egress)',
        message: 'egress must not repeat a rule (the same cidr or prefix_list and port).',
      },
    ],
  },
  {
    name: 'service',
    description: 'The service inside the image: the port it listens on and the path the load balancer checks.',
    type: 'object({\n    port        = number\n    health_path = string\n  })',
    nullable: false,
    attributes: {
      port: schema(`${ENV}.service.port`),
      health_path: schema(`${ENV}.service.health_path`),
    },
  },
  {
    name: 'health',
    description:
      'Target group health check: seconds between checks, consecutive results to change state, and seconds one check may take.',
    type: 'object({\n    interval_s          = optional(number, 10)\n    healthy_threshold   = optional(number, 2)\n    unhealthy_threshold = optional(number, 2)\n    timeout_s           = optional(number, 5)\n  })',
    default: '{}',
    nullable: false,
    attributes: {
      interval_s: schema(`${ENV}.health.interval_s`),
      healthy_threshold: schema(`${ENV}.health.healthy_threshold`),
      unhealthy_threshold: schema(`${ENV}.health.unhealthy_threshold`),
      timeout_s: schema(`${ENV}.health.timeout_s`),
    },
    extra: [
      {
        why: "a target group's own limits, narrower than the schema's (pipeline/config/load.ts checks them for target aws)",
        condition:
          'var.health.interval_s >= 5 && floor(var.health.interval_s) == var.health.interval_s && var.health.timeout_s >= 2 && var.health.timeout_s < var.health.interval_s',
        message:
          'health.interval_s must be a whole number of at least 5 and health.timeout_s at least 2 and less than health.interval_s (target group limits).',
      },
    ],
  },
  {
    name: 'certificate_arn',
    description:
      'ACM certificate for an HTTPS listener on 443; HTTP on 80 then redirects to HTTPS. null means HTTP only.',
    type: 'string',
    default: 'null',
    nullable: true,
    value: schema(`${ENV}.aws.certificate_arn`),
    absent: 'null',
  },
  {
    name: 'release_safety',
    description:
      "How an instance refresh guards a release: the canary's share of desired capacity (percent; 0 turns the checkpoint off), how long it bakes at that checkpoint, and the alarm limits (5xx rate as a fraction, p99 response time in ms or null for none), with an optional e-mail address for the alarms' SNS topic.",
    type: 'object({\n    canary_percent = optional(number, 50)\n    bake_s         = optional(number, 10)\n    max_error_rate = optional(number, 0.01)\n    min_requests   = optional(number, 20)\n    max_p99_ms     = optional(number)\n    alarm_email    = optional(string)\n  })',
    default: '{}',
    nullable: false,
    attributes: {
      bake_s: schema(`${ENV}.rollout.canary.bake_s`),
      max_error_rate: schema(`${ENV}.rollout.max_error_rate`),
      min_requests: schema(`${ENV}.rollout.min_requests`),
      max_p99_ms: schema(`${ENV}.rollout.max_p99_ms`),
      alarm_email: schema(`${ENV}.rollout.alarm_email`),
    },
    extra: [
      {
        why: 'derived by the runner from rollout.canary.instances and instances.desired',
        condition: 'var.release_safety.canary_percent >= 0 && var.release_safety.canary_percent < 100',
        message: 'release_safety.canary_percent must be from 0 to 99 (the last checkpoint is always 100).',
      },
    ],
  },
  {
    name: 'root_volume_size_gb',
    description:
      "Size of the encrypted gp3 root volume in GiB; at least the AMI's snapshot size (8 GiB for Debian 12).",
    type: 'number',
    default: '8',
    nullable: false,
    value: schema(`${ENV}.aws.root_volume_size_gb`),
  },
  {
    name: 'idle_timeout_s',
    description:
      "Seconds the load balancer keeps an idle connection open; below the service's 75 s keep-alive so the ALB, not the instance, closes idle connections.",
    type: 'number',
    default: '60',
    nullable: false,
    value: schema(`${ENV}.aws.idle_timeout_s`),
  },
  {
    name: 'deregistration_delay_s',
    description: 'Seconds the load balancer lets in-flight requests finish on a target being removed.',
    type: 'number',
    default: '30',
    nullable: false,
    value: schema(`${ENV}.aws.deregistration_delay_s`),
  },
  {
    name: 'instance_warmup_s',
    description:
      'Seconds a new instance counts as warming up after it is in service (default_instance_warmup of the group).',
    type: 'number',
    default: '30',
    nullable: false,
    value: schema(`${ENV}.aws.instance_warmup_s`),
  },
  {
    name: 'deletion_protection',
    description:
      "The load balancer's deletion protection (on by default); ./destroy.ts applies it off, after its confirmation, before terraform destroy.",
    type: 'bool',
    default: 'true',
    nullable: false,
    value: schema(`${ENV}.aws.deletion_protection`),
  },
  {
    name: 'tags',
    description: "Extra tags for every resource, merged under bakery's own (bakery:app, bakery:env).",
    type: 'map(string)',
    default: '{}',
    nullable: false,
    extra: [
      {
        why: 'the tag keys of a mapping (the schema checks them in deploy.yaml; the generator has no rule for map keys)',
        condition:
          'length([for key in keys(var.tags) : key if startswith(key, "bakery:") || startswith(lower(key), "aws:")]) == 0',
        message: 'tags must not use the reserved prefixes "bakery:" and "aws:".',
      },
      {
        why: "AWS's own tag limits (the schema checks them in deploy.yaml; the generator has no rule for map keys)",
        condition:
          'alltrue([for key, value in var.tags : length(key) >= 1 && length(key) <= 128 && length(value) <= 256])',
        message: 'tags keys must be 1 to 128 characters and values at most 256.',
      },
    ],
  },
  {
    name: 'logs',
    description:
      "The environment's CloudWatch log group: days it keeps the instances' journal (the service, release and one-off commands).",
    type: 'object({\n    retention_days = optional(number, 30)\n  })',
    default: '{}',
    nullable: false,
    attributes: {
      retention_days: schema(`${ENV}.aws.logs.retention_days`),
    },
  },
  {
    name: 'database',
    description:
      "The environment's database (deploy.yaml environments.ENV.database): engine, RDS instance class, storage in GiB, Multi-AZ, days of automated backups, and deletion protection (on; ./destroy.ts turns it off just before the final snapshot). null means no database.",
    type: 'object({\n    engine                = optional(string, "postgres")\n    engine_version        = optional(string, "15")\n    instance_class        = optional(string, "db.t4g.micro")\n    storage_gb            = optional(number, 20)\n    multi_az              = optional(bool, false)\n    backup_retention_days = optional(number, 7)\n    deletion_protection   = optional(bool, true)\n  })',
    default: 'null',
    nullable: true,
    attributes: {
      engine: schema(`${ENV}.database.engine`),
      engine_version: {
        own: {
          type: 'string',
          pattern: '^[0-9]+(\\.[0-9]+)?$',
          description: 'PostgreSQL major (or major.minor) version.',
        },
        why: 'the runner keeps it at 15, the version of the local database; not a deploy.yaml key',
      },
      instance_class: schema(`${ENV}.database.instance_class`),
      storage_gb: schema(`${ENV}.database.storage_gb`),
      backup_retention_days: schema(`${ENV}.database.backup_retention_days`),
    },
    extra: [
      {
        why: 'a cross-field rule (pipeline/config/database.ts checks it in deploy.yaml)',
        condition:
          'var.database == null || !contains(concat(keys(var.service_env), keys(var.service_ssm_parameters)), "DATABASE_URL")',
        message: 'database is set, so DATABASE_URL must not also be in service_env or service_ssm_parameters.',
      },
    ],
  },
];

// ------------------------------------------------------------------------------- Packer

export interface PackerVariable {
  name: string;
  description: string;
  type: string;
  /** HCL default, as written; absent means the variable is required. */
  default?: string;
  value: Source;
  /** 'empty': an optional deploy.yaml key, passed as "" when unset (Packer has no null from the environment). */
  absent?: 'empty';
}

export const PACKER: PackerVariable[] = [
  {
    name: 'app_name',
    description: 'Name of the service: system user, systemd unit, /opt/<app_name>, image and tag prefix.',
    type: 'string',
    default: '"bakery-app"',
    value: schema('app'),
  },
  {
    name: 'environment',
    description: 'Deployment environment the image is baked for (an environment name from deploy.yaml).',
    type: 'string',
    value: schema(ENV),
  },
  {
    name: 'version',
    description: 'Version of the service, shown by the service and recorded in tags and labels.',
    type: 'string',
    value: VERSION,
  },
  {
    name: 'fingerprint',
    description:
      'sha256 (64 hex digits) over the service, ansible/ and packer/ sources, the base image and the bake variables.',
    type: 'string',
    value: FINGERPRINT,
  },
  {
    name: 'service_port',
    description: 'TCP port the service listens on inside the image.',
    type: 'number',
    default: '8080',
    value: schema(`${ENV}.service.port`),
  },
  {
    name: 'aws_region',
    description: 'AWS region the AMI is baked in.',
    type: 'string',
    default: '"eu-west-1"',
    value: schema(`${ENV}.aws.region`),
  },
  {
    name: 'instance_type',
    description: 'EC2 instance type of the temporary builder instance.',
    type: 'string',
    default: '"t3.micro"',
    value: schema(`${ENV}.aws.instance_type`),
  },
  {
    name: 'kms_key_id',
    description:
      "KMS key ARN the builder's root volume is encrypted with, so the AMI's snapshot is too, without a copy; empty means the account's key for EBS.",
    type: 'string',
    default: '""',
    value: schema(`${ENV}.aws.kms_key_id`),
    absent: 'empty',
  },
  {
    name: 'base_ami_owner',
    description: 'Owner (account id) of the base AMI; 136693071363 publishes the official Debian AMIs.',
    type: 'string',
    default: '"136693071363"',
    value: schema(`${ENV}.image.base.owner`),
  },
  {
    name: 'base_ami_name',
    description: 'Name filter of the base AMI (the newest match is used).',
    type: 'string',
    default: '"debian-12-amd64-*"',
    value: schema(`${ENV}.image.base.name`),
  },
  {
    name: 'base_docker_image',
    description:
      'Base image of the local (Docker) image: Debian 12, e.g. debian:bookworm or a locally imported rootfs.',
    type: 'string',
    default: '"debian:bookworm"',
    value: schema(`${ENV}.local.base_image`),
  },
  {
    name: 'bake_layer',
    description:
      "all: every role on the base image (the AMI, the VM); base: what changes with bakery or the OS, not with the app (roles base and hardening, the app's Debian packages, the service account, bakery's runtime and launcher); app: the rest of the app role on top of a base-layer image given as base_docker_image (local) or base_ami_id (aws).",
    type: 'string',
    default: '"all"',
    value: BAKE_LAYER,
  },
  {
    name: 'app_entrypoint',
    description: 'The app: module:attr, or module:factory() for an app factory.',
    type: 'string',
    default: '"bakery_service:create_app()"',
    value: schema(`${ENV}.service.entrypoint`),
  },
  {
    name: 'app_interface',
    description: 'How the app is served: wsgi (Waitress) or asgi (Uvicorn).',
    type: 'string',
    default: '"wsgi"',
    value: schema(`${ENV}.service.interface`),
  },
  {
    name: 'app_packages',
    description: 'Debian packages the app needs at run time.',
    type: 'list(string)',
    default: '[]',
    value: schema(`${ENV}.service.packages`),
  },
  {
    name: 'app_build_commands',
    description: "service.build: commands run with /bin/sh -c in the app's directory as the service user at bake time.",
    type: 'list(string)',
    default: '[]',
    value: schema(`${ENV}.service.build`),
  },
];

// ------------------------------------------------------------------------------ Ansible

export interface RoleOption {
  /** Argument spec type. */
  type: 'str' | 'int' | 'list' | 'dict' | 'bool';
  elements?: 'str';
  value: Source;
}

export interface Role {
  name: string;
  short_description: string;
  options: Record<string, RoleOption>;
  extra?: Extra[];
}

const own = (node: Node, why = "the role's own option, not a deploy.yaml key"): Source => ({ own: node, why });

export const ROLES: Role[] = [
  {
    name: 'app',
    short_description: 'Installs the service, its build information and its systemd unit.',
    options: {
      app_name: { type: 'str', value: schema('app') },
      app_environment: { type: 'str', value: schema(ENV) },
      app_version: { type: 'str', value: VERSION },
      app_fingerprint: { type: 'str', value: FINGERPRINT },
      app_port: { type: 'int', value: schema(`${ENV}.service.port`) },
      app_health_path: { type: 'str', value: schema(`${ENV}.service.health_path`) },
      app_entrypoint: { type: 'str', value: schema(`${ENV}.service.entrypoint`) },
      app_interface: { type: 'str', value: schema(`${ENV}.service.interface`) },
      app_extra_packages: { type: 'list', elements: 'str', value: schema(`${ENV}.service.packages`) },
      bakery_layer: { type: 'str', value: BAKE_LAYER },
      app_shutdown_timeout: {
        type: 'int',
        value: own({ type: 'integer', description: 'Seconds the server lets requests drain after SIGTERM.' }),
      },
    },
    extra: [
      {
        why: "a cross-field rule between two of the role's own options",
        condition: 'app_stop_timeout | int > app_shutdown_timeout | int',
        message:
          'app_stop_timeout ({{ app_stop_timeout }}) must exceed app_shutdown_timeout ({{ app_shutdown_timeout }})',
      },
    ],
  },
  {
    name: 'base',
    short_description: 'Bootstraps Python, patches and trims a Debian 12 image.',
    options: {
      base_packages: {
        type: 'list',
        elements: 'str',
        value: own({ type: 'array', minItems: 1, items: { type: 'string' }, description: 'Packages every image has.' }),
      },
      base_packages_absent: {
        type: 'list',
        elements: 'str',
        value: own({ type: 'array', items: { type: 'string' }, description: 'Packages the image must not carry.' }),
      },
      base_timezone: {
        type: 'str',
        value: own({ type: 'string', pattern: '^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$', description: 'Area/City.' }),
      },
      base_locale: {
        type: 'str',
        value: own({ type: 'string', pattern: '^[A-Za-z_]+\\.[A-Za-z0-9-]+$', description: 'Such as C.UTF-8.' }),
      },
    },
    extra: [
      {
        why: "a cross-field rule between two of the role's own options",
        condition: 'base_packages | intersect(base_packages_absent) | length == 0',
        message:
          'base_packages and base_packages_absent must not overlap ({{ base_packages | intersect(base_packages_absent) }})',
      },
    ],
  },
  {
    name: 'hardening',
    short_description: 'Hardens a Debian 12 image and sandboxes the service.',
    options: {
      hardening_service_name: { type: 'str', value: schema('app') },
      hardening_ssh_mode: {
        type: 'str',
        value: own({ enum: ['masked', 'hardened'], description: 'What happens to SSH in the image.' }),
      },
      hardening_sysctl_network: {
        type: 'dict',
        value: own({ type: 'object', description: 'Network sysctl settings (must not be empty).' }),
      },
    },
    extra: [
      {
        why: 'argument specs cannot say "not empty"',
        condition: 'hardening_sysctl_network | length > 0',
        message: 'hardening_sysctl_network must not be empty',
      },
    ],
  },
];

// ------------------------------------------------------------------------- The mapping

/** One row per deploy.yaml key: the variable that carries it in each layer. */
export interface MappingRow {
  schemaPath: string;
  terraform: string[];
  packer: string[];
  ansible: string[];
}

/** The tables above read by schema key, for the README: which variable carries which key where. */
export function mappingRows(): MappingRow[] {
  const rows = new Map<string, MappingRow>();
  const row = (source: Source): MappingRow | undefined => {
    if (!('schema' in source)) return undefined;
    let found = rows.get(source.schema);
    if (!found) {
      found = { schemaPath: source.schema, terraform: [], packer: [], ansible: [] };
      rows.set(source.schema, found);
    }
    return found;
  };
  for (const variable of TERRAFORM) {
    if (variable.value) row(variable.value)?.terraform.push(`var.${variable.name}`);
    for (const [attribute, source] of Object.entries(variable.attributes ?? {}))
      row(source)?.terraform.push(`var.${variable.name}.${attribute}`);
    for (const [attribute, source] of Object.entries(variable.items ?? {}))
      row(source)?.terraform.push(`var.${variable.name}[*].${attribute}`);
  }
  for (const variable of PACKER) row(variable.value)?.packer.push(`var.${variable.name}`);
  for (const role of ROLES) {
    for (const [name, option] of Object.entries(role.options)) row(option.value)?.ansible.push(`${role.name}: ${name}`);
  }
  return [...rows.values()];
}
