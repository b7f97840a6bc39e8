// uvu's suite(), made safe for bakery's errors. uvu formats a failure with
// `err.details.split('\n')`; bakery's errors carry `details` as a string[], so the
// formatter throws inside uvu's catch, uvu's `finally` swallows it, and the run
// ends with exit code 0 although a test failed. Every test and hook here turns such
// an error into a plain Error whose message includes the details.

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

function guard<T>(callback: Callback<T>): Callback<T> {
  return async (context) => {
    try {
      await callback(context);
    } catch (error) {
      throw readable(error);
    }
  };
}

/** uvu's suite(); tests and hooks rethrow bakery errors in a form uvu can report. */
export function suite<T = Record<string, unknown>>(title: string): Test<T> {
  const inner = uvuSuite<T>(title);
  const wrapped = ((name: string, callback: Callback<T>) => inner(name, guard(callback))) as Test<T>;
  wrapped.only = (name, callback) => inner.only(name, guard(callback));
  wrapped.skip = inner.skip;
  const hook = (original: Test<T>['before']): Test<T>['before'] => {
    const replacement = ((callback: Callback<T>) => original(guard(callback))) as Test<T>['before'];
    replacement.each = (callback) => original.each(guard(callback));
    return replacement;
  };
  wrapped.before = hook(inner.before);
  wrapped.after = hook(inner.after);
  wrapped.run = () => inner.run();
  return wrapped;
}
