// Generates the Prisma client and Pothos types of each example app and the types fixture, offline.
// Runs on `npm install` (postinstall); skips a schema whose generated output is newer than a change
// to it, so a second install is quick and harmless. `--force` regenerates everything.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const prismaCli = join(root, 'node_modules', 'prisma', 'build', 'index.js');

if (!existsSync(prismaCli)) {
  console.log('[ormai] prisma is not installed here; skipping client generation');
  process.exit(0);
}

const examplesDir = join(root, 'examples');
const schemas = [
  ...(existsSync(examplesDir)
    ? readdirSync(examplesDir).map((name) => join(examplesDir, name, 'prisma', 'schema.prisma'))
    : []),
  // a test fixture laid out like the examples (test/types.test.ts)
  join(root, 'test', 'fixtures', 'types-app', 'prisma', 'schema.prisma'),
  // row keys: compound, @@unique-only, uuid/cuid/BigInt ids (test/keys.test.ts)
  join(root, 'test', 'fixtures', 'keys-app', 'prisma', 'schema.prisma'),
].filter((path) => existsSync(path));

for (const schema of schemas) {
  const appDir = dirname(dirname(schema));
  const stampFile = join(appDir, 'generated', '.generate-stamp');
  const digest = createHash('sha256')
    .update(readFileSync(schema))
    .update(readFileSync(join(root, 'node_modules', 'prisma', 'package.json')))
    .digest('hex');
  if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === digest) {
    console.log(`[ormai] ${schema.slice(root.length + 1)}: client up to date`);
    continue;
  }
  // The Prisma 7 CLI wants a schema engine binary it would download; generation does not use it.
  const result = spawnSync(process.execPath, [prismaCli, 'generate', '--schema', schema], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      // the generator `prisma-pothos-types` is found through PATH, as npm scripts would set it
      PATH: [join(root, 'node_modules', '.bin'), process.env.PATH].join(delimiter),
      PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  });
  if (result.status !== 0) {
    console.error(`[ormai] prisma generate failed for ${schema}`);
    process.exit(result.status ?? 1);
  }
  writeFileSync(stampFile, digest);
}
