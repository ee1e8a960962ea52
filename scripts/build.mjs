// Compiles src/ to dist/ (ESM JavaScript, .d.ts, source maps) and copies the files tsc does not
// emit: ormai's own SQL migrations, read at run time beside the compiled code.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// built beside dist/ and swapped in at the end: a file removed from src/ does not live on in dist/,
// and a CLI started while this runs still finds a whole dist/
const staging = join(root, `.dist-${process.pid}`);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(staging, { recursive: true, force: true });
const result = spawnSync(
  process.execPath,
  [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', staging],
  { cwd: root, stdio: 'inherit' },
);
if (result.status !== 0) {
  rmSync(staging, { recursive: true, force: true });
  process.exit(result.status ?? 1);
}
cpSync(join(root, 'src', 'db', 'migrations'), join(staging, 'db', 'migrations'), {
  recursive: true,
  filter: (source) => !source.endsWith('.ts'),
});

const previous = `${staging}-old`;
if (existsSync(dist)) renameSync(dist, previous);
renameSync(staging, dist);
rmSync(previous, { recursive: true, force: true });
