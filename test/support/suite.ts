// uvu's suite(), made safe against two ways uvu 0.5 loses a failure and exits 0:
//
// - It formats a failure with `err.details.split('\n')`. bakery's errors carry
//   `details` as a string[], so the formatter throws inside uvu's catch and uvu's
//   `finally { return … }` swallows it. Errors are rethrown here as plain Errors whose
//   message includes the details.
// - A `before` hook that throws, or an `after.each` hook that throws after a failed
//   test, is swallowed by the same `finally`. Such errors are printed, make every test
//   of the suite fail, and set the exit code to 1 when the run ends.

import { suite as uvuSuite, type Callback, type Test } from 'uvu';

function readable(error: unknown): unknown {
  const details = error instanceof Error ? (error as { details?: unknown }).details : undefined;
  if (error instanceof Error && Array.isArray(details)) {
    const lines = details.map(String);
    const plain = new Error([`${error.name}: ${error.message}`, ...lines.map((line) => `  ${line}`)].join('\n'));
    plain.stack = `${plain.message}\n${(error.stack ?? '').split('\n').slice(1).join('\n')}`;
    return plain;
  }
  return error;
}

let exitHookInstalled = false;

/** Reports an error uvu would drop, and makes the run fail. */
function failOutsideTest(where: string, error: unknown): void {
  const shown = readable(error);
  process.stderr.write(
    `\n${where} failed: ${shown instanceof Error ? (shown.stack ?? shown.message) : String(shown)}\n`,
  );
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // uvu sets process.exitCode when it finishes; an exit listener runs after that.
    process.once('exit', () => {
      process.exitCode = 1;
    });
  }
}

/** uvu's suite(); see the header for what it adds. */
export function suite<T = Record<string, unknown>>(title: string, context?: T): Test<T> {
  const inner = context === undefined ? uvuSuite<T>(title) : uvuSuite<T>(title, context);
  let setupError: unknown;

  const guard =
    (callback: Callback<T>): Callback<T> =>
    async (context) => {
      if (setupError !== undefined) throw setupError;
      try {
        await callback(context);
      } catch (error) {
        throw readable(error);
      }
    };

  const wrapped = ((name: string, callback: Callback<T>) => inner(name, guard(callback))) as Test<T>;
  wrapped.only = (name, callback) => inner.only(name, guard(callback));
  wrapped.skip = inner.skip;

  const before = ((callback: Callback<T>) =>
    inner.before(async (context) => {
      try {
        await callback(context);
      } catch (error) {
        setupError = readable(error);
        failOutsideTest(`"${title}" before()`, error);
      }
    })) as Test<T>['before'];
  before.each = (callback) => inner.before.each(guard(callback));
  wrapped.before = before;

  const after = ((callback: Callback<T>) =>
    inner.after(async (context) => {
      try {
        await callback(context);
      } catch (error) {
        throw readable(error);
      }
    })) as Test<T>['after'];
  after.each = (callback) =>
    inner.after.each(async (context) => {
      try {
        await callback(context);
      } catch (error) {
        failOutsideTest(`"${title}" after.each()`, error);
        throw readable(error);
      }
    });
  wrapped.after = after;

  wrapped.run = () => inner.run();
  return wrapped;
}
