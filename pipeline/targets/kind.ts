// What each kind of target answers outside a run's stages: the tools a command needs on
// the host, what the tooling container must give it, whether destroy asks first, how
// secrets are referenced, what its part of deploy.yaml must satisfy, which history it
// keeps. Code outside pipeline/targets/ asks these questions here instead of comparing
// target names, so a third target is one more kind, not a search through the code.
//
// Light on purpose: config loading and the container decision use it before anything
// runs, so neither kind loads the AWS SDK (the aws history imports it on first use).

import type {
  AwsEnvironment,
  Environment,
  HealthSettings,
  LocalEnvironment,
  RawEnvironment,
  ServiceSettings,
  TargetName,
} from '../config/schema.ts';
import type { ConfigIssue, UsageError } from '../errors.ts';
import type { ToolName } from '../process/tool-versions.ts';
import type { HistoryStore } from '../state/history.ts';
import { awsKind } from './aws/kind.ts';
import { localKind } from './local/kind.ts';

/** The checked raw environment, with its service resolved (load.ts). */
export type CheckedEnvironment = Omit<RawEnvironment, 'service'> & { service: ServiceSettings };

/** What every environment has, whatever its target. */
export type CommonEnvironment = Omit<Environment, 'target' | 'local' | 'aws' | 'baseAmi' | 'database'>;

/** The answers that need no environment: known from the target's name alone. */
export interface TargetRules {
  readonly name: TargetName;
  /** The tools each command runs on the host; the tooling container has them all. */
  readonly tools: Readonly<Record<'deploy' | 'destroy', readonly ToolName[]>>;
  /** Whether destroy has the operator type the environment's name first (unless --yes). */
  readonly destroyAsksToConfirm: boolean;
  /** What the tooling container must share with the host for this target. */
  readonly toolingContainer: {
    /** The host's Docker socket: the target's containers run on the host's engine. */
    readonly dockerSocket: boolean;
    /** The host's network: the target publishes on the host's 127.0.0.1, where verify polls it. */
    readonly hostNetwork: boolean;
  };
  /**
   * Who reads service.secrets: the runner, before anything starts (their values reach the
   * instances with the settings), or the instances themselves at boot (bakery only hands
   * them the references and never learns a value).
   */
  readonly secretsReadBy: 'runner' | 'instances';
  /** Why a secret reference is not one this target can follow; undefined when it is. */
  secretReferenceProblem(reference: string): string | undefined;
  /** What the target's own limits say about the defaulted health settings. */
  healthIssues(health: HealthSettings, path: string): ConfigIssue[];
}

/** A target's answers, with those that need its own kind of environment. */
export interface TargetKind<E extends Environment> extends TargetRules {
  readonly name: E['target'];
  /** The environment in its target's defaulted form; undefined after pushing what is wrong. */
  normalize(raw: CheckedEnvironment, common: CommonEnvironment, path: string, issues: ConfigIssue[]): E | undefined;
  /** The port the environment takes on this machine, with its key (two environments cannot share one). */
  hostPort(env: E): { port: number; key: string } | undefined;
  /** Why the environment cannot be deployed from CI; undefined when it can. */
  ciRefusal(env: E): UsageError | undefined;
  /** The environment's deploy history: this machine's, and a shared copy when there is one. */
  history(env: E, stateDir: string, processEnv: NodeJS.ProcessEnv): HistoryStore;
  /**
   * The deploy lock other machines see (one beside a shared state), taken after this
   * machine's own lock file; undefined when the state is this machine's alone.
   */
  sharedLock(
    env: E,
    processEnv: NodeJS.ProcessEnv,
    command: string,
    warn: (text: string) => void,
  ): Promise<SharedLock | undefined>;
}

/** A lock held on a state other machines share; released once, on every way out of the run. */
export interface SharedLock {
  release(): Promise<void>;
}

const KINDS: { local: TargetKind<LocalEnvironment>; aws: TargetKind<AwsEnvironment> } = {
  local: localKind,
  aws: awsKind,
};

export function targetRules(name: TargetName): TargetRules {
  return KINDS[name];
}

/** The checked environment in its target's defaulted form (load.ts); undefined after pushing what is wrong. */
export function normalizeForTarget(
  raw: CheckedEnvironment,
  common: CommonEnvironment,
  path: string,
  issues: ConfigIssue[],
): Environment | undefined {
  return KINDS[raw.target].normalize(raw, common, path, issues);
}

/** Calls `use` with the environment's kind, typed for that environment. */
export function withKind<R>(env: Environment, use: <E extends Environment>(kind: TargetKind<E>, env: E) => R): R {
  switch (env.target) {
    case 'local':
      return use(localKind, env);
    case 'aws':
      return use(awsKind, env);
  }
}

/**
 * The environment's deploy history. Deploys, rollbacks, destroys, retention and status
 * all get it from here.
 */
export function historyOf(env: Environment, stateDir: string, processEnv: NodeJS.ProcessEnv): HistoryStore {
  return withKind(env, (kind, typed) => kind.history(typed, stateDir, processEnv));
}

/** The environment's shared deploy lock, when its state is shared (the session takes it after the lock file). */
export function acquireSharedLock(
  env: Environment,
  processEnv: NodeJS.ProcessEnv,
  command: string,
  warn: (text: string) => void,
): Promise<SharedLock | undefined> {
  return withKind(env, (kind, typed) => kind.sharedLock(typed, processEnv, command, warn));
}
