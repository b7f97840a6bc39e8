// The interface every target implements, the same way on both: each method takes what it
// needs and returns what it found, so nothing travels between methods through fields.
// Images: Docker images (local) or AMIs (aws); instances: containers or EC2 instances;
// the load balancer: HAProxy or an ALB.
//
//   preflight ──► Facts ──► bake (baseImageIdentity, bakeVariables)
//                   └─────► provision ──► Provisioned ──► rollout ──► RolloutResult
//                                              └────────► waitForBackends / explainUnhealthy (verify)

import type { Dispatcher } from 'undici';
import type { RuntimeSettings } from '../config/runtime-settings.ts';
import type { RolloutStrategy, RunContext, StageIO } from '../context.ts';
import type { HistoryEntry } from '../state/history.ts';
import type { DeploymentRecord } from '../state/record.ts';
import type { LogQuery, TargetStatus } from '../operate/observed.ts';

export interface ImageRef {
  /** sha256:… for local, ami-… for aws. */
  id: string;
  fingerprint: string;
  /** Human name (docker tag or AMI name), when there is one. */
  name?: string;
  createdAt?: string;
  /** The git revision it was baked from (label/tag bakery.git_revision), when known. */
  gitRevision?: string;
}

/** What retention decides by: the image in service, image.keep and the environment's history. */
export interface PrunePolicy {
  keep: number;
  inUse: ImageRef;
  history: readonly HistoryEntry[];
}

export interface ImageStore {
  /** The newest image baked with this fingerprint for this app and environment. */
  findByFingerprint(io: StageIO, fingerprint: string): Promise<ImageRef | undefined>;
  /** An image named on the command line (--image), checked to exist. */
  resolve(io: StageIO, id: string): Promise<ImageRef>;
  /** Records Packer's artifact (tags, names) and returns the image. */
  adopt(io: StageIO, artifactId: string, fingerprint: string): Promise<ImageRef>;
  /** Deletes the images retention (state/retention.ts) does not keep, never `inUse`; returns what went. */
  prune(io: StageIO, policy: PrunePolicy): Promise<string[]>;
  /**
   * Removes builder machines (Packer's build containers) of this app and environment that
   * an earlier, killed run left behind; returns what it removed. Called under the lock,
   * so no bake of this environment is running.
   */
  removeLeakedBuilders?(io: StageIO): Promise<string[]>;
  /** Deletes every image of this app and environment (destroy). */
  removeAll(io: StageIO): Promise<string[]>;
}

/** What provision made: where the service answers, plus what the target's later steps need. */
export interface Provisioned {
  /** The service's URL through the load balancer, with a trailing slash. */
  url: string;
}

/** What a --dry-run says provision and rollout would do, from one look at the target. */
export interface ProvisionPlan {
  provision: string;
  rollout: string;
}

export type RolloutResult =
  | { skipped: string }
  | {
      /** Instances started (local: container names; aws: the instance refresh id). */
      started: string[];
      /** Instances that ran the image already and were kept. */
      kept: string[];
      retired: string[];
    };

export interface TeardownReport {
  /** Human descriptions of what was removed; empty when there was nothing. */
  removed: string[];
}

/** A command run once on an image with an environment's settings (release, run.ts): one-off.ts says how. */
export interface OneOffCommand {
  /** What runs, as the service user in the app's directory with the venv first on PATH. */
  argv: string[];
  purpose: 'release' | 'run';
  /** Stop it after this long (the release's release_timeout_s); none for run.ts. */
  timeoutMs?: number;
  /**
   * 'stream' (the release): output into the stage's progress and log; 'terminal' (run.ts):
   * the command owns the terminal, with a TTY when `tty` is true.
   */
  attach: { kind: 'stream' } | { kind: 'terminal'; tty: boolean };
}

export interface OneOffResult {
  exitCode: number;
  /** The command's last output lines (stream only), for a failure's message. */
  lastLines: string[];
  timedOut: boolean;
  /** Where it ran (container name, instance id), for messages. */
  where: string;
}

export interface DeployTarget<Facts = unknown, Stack extends Provisioned = Provisioned> {
  readonly name: 'local' | 'aws';
  /** The Packer source this target bakes: "docker.app" or "amazon-ebs.app". */
  readonly packerSource: string;
  readonly images: ImageStore;

  /** Checks everything that can be checked before anything is created; returns what it found. */
  preflight(io: StageIO, purpose: 'deploy' | 'destroy'): Promise<Facts>;
  /** Identity of the base image (digest, AMI id): part of the bake fingerprint. */
  baseImageIdentity(io: StageIO, facts: Facts): Promise<string>;
  /** Target-specific Packer variables (PKR_VAR_ names without the prefix). */
  bakeVariables(facts: Facts): Record<string, string>;
  /**
   * Present when the target bakes in two layers: the Packer variables that start the app
   * layer's bake from this base-layer image instead of the base image. Without it, one
   * bake runs every role.
   */
  onBaseLayer?(baseLayer: ImageRef): Record<string, string>;
  /** Extra environment for the bake that must not change the fingerprint (the aws builder's SSH source CIDR). */
  bakeEnvironment?(io: StageIO): Promise<Record<string, string>>;

  /** Creates or converges the long-lived parts (network/VPC wiring, load balancer) for `image`. */
  provision(io: StageIO, image: ImageRef, facts: Facts): Promise<Stack>;
  /** What provision and rollout would do, for --dry-run; `image` is undefined before a first bake. */
  plan(io: StageIO, image: ImageRef | undefined, facts: Facts, settings: RuntimeSettings): Promise<ProvisionPlan>;
  /**
   * Replaces instances on other images or settings with instances on `image` started with
   * `settings`, without dropping requests. (aws: the settings went into the launch
   * template through provision's Terraform inputs; they are references there.)
   */
  rollout(
    io: StageIO,
    stack: Stack,
    image: ImageRef,
    strategy: RolloutStrategy,
    settings: RuntimeSettings,
  ): Promise<RolloutResult>;

  /** Waits until the load balancer counts every desired backend healthy, or throws explaining why not. */
  waitForBackends(io: StageIO, stack: Stack, deadline: number): Promise<void>;
  /** Lines that say what is unhealthy (target health reasons, instance logs), for a timeout. */
  explainUnhealthy(io: StageIO, stack: Stack): Promise<string[]>;
  /** Connection settings for the health poll through the load balancer, when the default will not do. */
  healthDispatcher?(stack: Stack): Dispatcher | undefined;

  /**
   * Runs one command once on `image` with `settings` (delivered as the instances get them),
   * next to the fleet and without touching it, and removes what ran it afterwards.
   */
  runOneOff(io: StageIO, image: ImageRef, settings: RuntimeSettings, command: OneOffCommand): Promise<OneOffResult>;
  /** True when every instance in service already runs `image` with `settings` (a release would change nothing). */
  servesAlready(io: StageIO, image: ImageRef, settings: RuntimeSettings): Promise<boolean>;
  /**
   * Creates or starts the environment's database and waits until it accepts connections
   * (before any release or rollout); says what it did, or undefined when there is none.
   */
  ensureDatabase?(io: StageIO): Promise<string | undefined>;
  /**
   * The final backup of the environment's database, before teardown removes it: what it
   * wrote (a path), or undefined when there is no database. Throws when it fails, so
   * nothing holding data is removed.
   */
  backupDatabase?(io: StageIO): Promise<string | undefined>;

  /** Removes instances, load balancer, network (not images); succeeds when nothing exists. */
  teardown(io: StageIO): Promise<TeardownReport>;

  /** What runs now (image, instances and their load-balancer health), read only; for status.ts. */
  status?(io: StageIO, record: DeploymentRecord | undefined): Promise<TargetStatus>;
  /** Writes the instances' log lines, each prefixed with its instance, read only; for status.ts --logs. */
  logs?(io: StageIO, query: LogQuery, write: (line: string) => void): Promise<void>;
}

/**
 * A target of either kind, as the stages see it: they only hand a target's facts and
 * stack back to the same target (method parameters are bivariant, so each target keeps
 * its own types).
 */
export type AnyTarget = DeployTarget<unknown, Provisioned>;

export type TargetFactory = (context: RunContext) => AnyTarget;
