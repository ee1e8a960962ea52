// How many random cases each property runs: SECURITY_RUNS (set by `npm run test:security -- --runs
// N`), or a small number so `npm test` stays quick.
export const RUNS = Number(process.env.SECURITY_RUNS ?? 30);

/** A per-test timeout that grows with the number of runs. */
export const timeoutFor = (runs: number, msPerRun: number) => 120_000 + runs * msPerRun;

/** fast-check's seed, to replay a failure: SECURITY_SEED=<seed printed by the failure>. */
export const SEED = process.env.SECURITY_SEED ? Number(process.env.SECURITY_SEED) : undefined;
