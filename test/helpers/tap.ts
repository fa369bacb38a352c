import tap, { type Test } from 'tap';

/** The running file's own subtest while a group runs it; none when tap runs the file alone. */
let fileTest: Test | undefined;

/** For test/groups/: the subtest the file about to load (and run) belongs to; `undefined` after the last. */
export function setFileTest(test: Test | undefined): void {
  fileTest = test;
}

/**
 * The test a test file's top-level code runs in: tap's root test when tap runs the file in a
 * process of its own, or the file's subtest when a group runs several files one after another in
 * one process (test/groups/ sets it before importing each file). Resolved at each use, since this
 * module is loaded once per process.
 */
const t = new Proxy(tap as Test, {
  get(_, property) {
    const current = fileTest ?? tap;
    const value = Reflect.get(current, property, current) as unknown;
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
  },
});
export default t;
