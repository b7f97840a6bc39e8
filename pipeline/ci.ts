// Whether this run is a CI job. One rule for everything that behaves differently there
// (plain output instead of the live view, remote Terraform state required).

/** CI is set to anything but "" or "false", in any case (GitHub Actions, Jenkins and most others set CI=true). */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI;
  return value !== undefined && value !== '' && value.toLowerCase() !== 'false';
}
