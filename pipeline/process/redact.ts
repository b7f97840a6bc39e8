// Secrets never reach a log file or the terminal. A Redactor masks the values of
// secret-looking environment variables and anything shaped like an AWS credential.

// DATABASE_URL carries a password (bakery hands one to every app with a database).
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY|API_KEY|DATABASE_URL/i;
// Values shorter than this are too likely to appear by chance ("1", "true").
const MIN_SECRET_LENGTH = 6;

const PATTERNS: RegExp[] = [
  // Access key ids: long-term (AKIA) and temporary (ASIA).
  /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g,
  // Secret access keys after a telling name, in env, INI, JSON or CLI form.
  /(aws_secret_access_key|secret_?access_?key|SecretAccessKey)(["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}/gi,
  // Session tokens after a telling name.
  /(aws_session_token|session_?token|SessionToken)(["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{100,}/gi,
  // A password in a URL (a private package index, a git remote): scheme://user:PASSWORD@host.
  /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+)(:)[^\s@/]+(?=@)/gi,
];

export const MASK = '[REDACTED]';

export class Redactor {
  private readonly values: string[];

  /** `env` is the run's environment, whose secret-looking values are masked. */
  constructor(env: NodeJS.ProcessEnv, extra: string[] = []) {
    const fromEnv = Object.entries(env)
      .filter(([name, value]) => SECRET_NAME.test(name) && value !== undefined && value.length >= MIN_SECRET_LENGTH)
      .map(([, value]) => value as string);
    // Longest first, so a secret containing another is masked whole.
    this.values = [...new Set([...fromEnv, ...extra.filter((v) => v.length >= MIN_SECRET_LENGTH)])].sort(
      (a, b) => b.length - a.length,
    );
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) out = out.split(value).join(MASK);
    for (const pattern of PATTERNS) {
      // Patterns without groups get (match, offset, whole) here: check the types, not just presence.
      out = out.replace(pattern, (_match: string, name: unknown, separator: unknown) =>
        typeof name === 'string' && typeof separator === 'string' ? `${name}${separator}${MASK}` : MASK,
      );
    }
    return out;
  }
}
