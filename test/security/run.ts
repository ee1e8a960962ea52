// `npm run test:security -- --runs N [--app helpdesk]`: the security suite with N random cases per
// property (the long run; `npm test` runs the same files with a small default) on every example
// app (or the named ones), on PGlite and, when TEST_DATABASE_URL is set, on PostgreSQL. Extra
// arguments go to vitest.
import { spawn } from 'node:child_process';

const DEFAULT_RUNS = 1000;

const args = process.argv.slice(2);
let runs = DEFAULT_RUNS;
const apps: string[] = [];
const passThrough: string[] = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  if (arg === '--runs' || arg.startsWith('--runs=')) {
    const value = arg === '--runs' ? args[++i] : arg.slice('--runs='.length);
    runs = Number(value);
    if (!Number.isInteger(runs) || runs < 1) {
      console.error(`--runs takes a positive integer, got ${value}`);
      process.exit(2);
    }
  } else if (arg === '--app' || arg.startsWith('--app=')) {
    apps.push(arg === '--app' ? args[++i]! : arg.slice('--app='.length));
  } else passThrough.push(arg);
}

console.log(
  `security suite: ${runs} runs per property${apps.length ? ` on ${apps.join(', ')}` : ''}`,
);
const started = Date.now();
const child = spawn('npx', ['vitest', 'run', 'test/security', ...passThrough], {
  stdio: 'inherit',
  env: {
    ...process.env,
    SECURITY_RUNS: String(runs),
    ...(apps.length ? { SECURITY_APPS: apps.join(',') } : {}),
  },
});
child.on('exit', (code, signal) => {
  console.log(`security suite: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(code ?? (signal ? 1 : 0));
});
