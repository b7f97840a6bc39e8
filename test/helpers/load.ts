// Moved to harness/load.ts (shared by test/ and bench/); kept so that tests written
// against the old path still import. New code imports harness/ directly.
export * from '../../harness/load.ts';
