// What init found out about an app: each guess is a deploy.yaml key, its value and why,
// so the same entries make the printed lines, the --json output and the file's comments.

import type { AppInterface } from '../config/schema.ts';

export type GuessKey =
  | 'app'
  | 'service.entrypoint'
  | 'service.interface'
  | 'service.requirements'
  | 'service.packages'
  | 'service.health_path'
  | 'service.build'
  | 'service.release'
  | 'database';

export interface Guess<K extends GuessKey = GuessKey> {
  key: K;
  value: GuessValue[K];
  /** Why, in a few words a person can check: the file and what was in it. */
  why: string;
}

export interface GuessValue {
  app: string;
  'service.entrypoint': string;
  'service.interface': AppInterface;
  'service.requirements': string;
  'service.packages': string[];
  'service.health_path': string;
  'service.build': string[];
  'service.release': string[];
  database: { engine: 'postgres' };
}

export type AnyGuess = { [K in GuessKey]: Guess<K> }[GuessKey];

/** What one detector found: its guesses, and what it looked for without finding (for --verbose). */
export interface Findings {
  guesses: AnyGuess[];
  missed: string[];
  /** What init cannot change but the first deploy will trip over (printed always). */
  warnings?: string[];
}

export const guess = <K extends GuessKey>(key: K, value: GuessValue[K], why: string): AnyGuess =>
  ({ key, value, why }) as AnyGuess;

/** The first guess for a key wins: detectors are asked most specific first. */
export function mergeFindings(all: readonly Findings[]): Findings {
  const guesses: AnyGuess[] = [];
  const seen = new Set<GuessKey>();
  for (const findings of all) {
    for (const found of findings.guesses) {
      if (seen.has(found.key)) continue;
      seen.add(found.key);
      guesses.push(found);
    }
  }
  return {
    guesses,
    missed: all.flatMap((findings) => findings.missed),
    warnings: all.flatMap((findings) => findings.warnings ?? []),
  };
}

export function valueOf<K extends GuessKey>(guesses: readonly AnyGuess[], key: K): GuessValue[K] | undefined {
  return guesses.find((found) => found.key === key)?.value as GuessValue[K] | undefined;
}
