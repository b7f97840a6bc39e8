// A tool call as data: the executable and its argument list, built by a pure function
// (targets/local/docker-commands.ts, targets/aws/terraform-commands.ts, bake/packer.ts,
// bake/accelerator.ts) and executed only by the process runner (runner.ts). What bakery
// would run can then be tested, shown and logged without running it.

export interface Command {
  /** Executable name, looked up on PATH. */
  tool: string;
  args: string[];
}
