// What status.ts observes on a target, the same shape on both: the image in service,
// each instance with the load balancer's view of it, and the load balancer itself.
// Targets fill it (read only); drift.ts compares it with the deployment record.

export interface ImageDetails {
  id: string;
  /** False when the image no longer exists (pruned, deregistered). */
  exists: boolean;
  name?: string;
  fingerprint?: string;
  gitRevision?: string;
  bakedAt?: string;
  /** "app" or "base", when the image says. */
  layer?: string;
}

export interface InstanceStatus {
  /** Container name (local) or EC2 instance id (aws). */
  name: string;
  /** The image it runs (sha256:… or ami-…), when known. */
  image?: string;
  /** "running", "exited" (local); the ASG lifecycle state, "InService" (aws). */
  state: string;
  running: boolean;
  /** The load balancer's word for it: UP, DOWN, DRAIN (HAProxy); healthy, unhealthy (ALB); "not registered". */
  health: string;
  healthy: boolean;
  /** Why it is not healthy: the last check (HAProxy) or the reason code and description (ALB). */
  reason?: string;
  /** Set when it was started from an older configuration than the group's (aws: launch template version). */
  outdated?: string;
}

export interface LoadBalancerStatus {
  name: string;
  /** "running", "exited", "missing" (local); "active", "provisioning", "missing" (aws). */
  state: string;
  up: boolean;
}

export interface TargetStatus {
  /** The deployed image as it exists now; undefined without a deployment record. */
  image?: ImageDetails;
  instances: InstanceStatus[];
  loadBalancer: LoadBalancerStatus;
  /** Instances the environment asks for (deploy.yaml, or the Auto Scaling group's desired capacity). */
  desired: number;
  /** The stack's alarms that are in ALARM now (aws; local has none). */
  alarms?: Array<{ name: string; reason: string }>;
  /** The environment's database, when it has one. */
  database?: DatabaseStatus;
  /** The Auto Scaling group's size and its last scaling activity (aws). */
  scaling?: ScalingStatus;
}

export interface ScalingStatus {
  min: number;
  desired: number;
  max: number;
  /** Processes suspended now (a deploy holds AlarmNotification while it waits for a refresh). */
  suspended?: string[];
  /** "2026-12-07T22:10:00.000Z Successful: Launching a new EC2 instance: i-0abc (cause)". */
  lastActivity?: string;
}

export interface DatabaseStatus {
  /** Container name (local) or instance identifier (aws). */
  name: string;
  /** "running", "exited", "missing", … */
  state: string;
  /** It answered pg_isready: it accepts connections. */
  accepting: boolean;
  /** Size of the app's database in bytes, when it answered. */
  size_bytes?: number;
  /** Where the data lives (the named volume, locally). */
  storage?: string;
}

export interface LogQuery {
  /** Only this instance (container name or instance id). */
  instance?: string;
  /** Only lines from the last this many seconds; without it, the last `lines` lines. */
  sinceSeconds?: number;
  lines: number;
  /** Keep printing new lines until interrupted (local). */
  follow: boolean;
}
