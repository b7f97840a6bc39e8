// --since AGE for status.ts --logs: a whole number and one unit, as journalctl and people write it.

import { UsageError } from '../errors.ts';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

export function parseSince(value: string): number {
  return parseAge(value, '--since');
}

/** An age in seconds from "30s", "10m", "2h" or "1d"; bad input names `flag`. */
export function parseAge(value: string, flag: string): number {
  const match = /^(\d+)([smhd])$/.exec(value.trim());
  const amount = match ? Number(match[1]) : 0;
  if (!match || amount < 1)
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} is not allowed: expected a whole number from 1 and a unit s, m, h or d (e.g. 30s, 10m, 2h, 1d)`,
    );
  return amount * (UNIT_SECONDS[match[2] as string] as number);
}
