// The small interface every target implements. Images: Docker images (local) or AMIs
// (aws); instances: containers or EC2 instances; the load balancer: HAProxy or an ALB.

import type { RolloutStrategy, RunContext, StageIO } from '../context.ts';

export interface ImageRef {
  /** sha256:… for local, ami-… for aws. */
  id: string;
  fingerprint: string;
  /** Human name (docker tag or AMI name), when there is one. */
  name?: string;
  createdAt?: string;
}

export interface ImageStore {
  /** The newest image baked with this fingerprint for this app and environment. */
  findByFingerprint(io: StageIO, fingerprint: string): Promise<ImageRef | undefined>;
  /** An image named on the command line (--image), checked to exist. */
  resolve(io: StageIO, id: string): Promise<ImageRef>;
  /** Records Packer's artifact (tags, names) and returns the image. */
  adopt(io: StageIO, artifactId: string, fingerprint: string): Promise<ImageRef>;
  /** Deletes all but the newest `keep` images of this app and environment, never `inUse`. */
  prune(io: StageIO, keep: number, inUse: ImageRef): Promise<string[]>;
  /** Deletes every image of this app and environment (destroy). */
  removeAll(io: StageIO): Promise<string[]>;
}

export interface TeardownReport {
  /** Human descriptions of what was removed; empty when there was nothing. */
  removed: string[];
}

export interface DeployTarget {
  readonly name: 'local' | 'aws';
  /** The Packer source this target bakes: "docker.app" or "amazon-ebs.app". */
  readonly packerSource: string;
  readonly images: ImageStore;

  /** Checks everything that can be checked before anything is created (destroy needs less). */
  preflight(io: StageIO, purpose: 'deploy' | 'destroy'): Promise<void>;
  /** Identity of the base image (digest, AMI id): part of the bake fingerprint. */
  baseImageIdentity(io: StageIO): Promise<string>;
  /** Target-specific Packer variables (PKR_VAR_ names without the prefix). */
  bakeVariables(): Record<string, string>;
  /** Extra environment for the bake that must not change the fingerprint (the aws builder's SSH source CIDR). */
  bakeEnvironment?(io: StageIO): Promise<Record<string, string>>;

  /** Creates or converges the long-lived parts: network/VPC wiring, load balancer. */
  provision(io: StageIO, image: ImageRef): Promise<void>;
  /** Why rollout can be skipped (everything already runs this image and is healthy), or false. */
  rolloutSkipReason(io: StageIO, image: ImageRef): Promise<string | false>;
  /** Replaces instances on older images with instances on `image`, without dropping requests. */
  rollout(io: StageIO, image: ImageRef, strategy: RolloutStrategy): Promise<void>;
  /** Waits until the service answers through the load balancer; returns its URL. */
  verify(io: StageIO): Promise<string>;
  /** What provision + rollout would do, for --dry-run. */
  plan(io: StageIO, image: ImageRef | undefined): Promise<string>;

  /** Removes instances, load balancer, network (not images); succeeds when nothing exists. */
  teardown(io: StageIO): Promise<TeardownReport>;
}

export type TargetFactory = (context: RunContext) => DeployTarget;
