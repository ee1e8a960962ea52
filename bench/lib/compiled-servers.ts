// The bench's TypeScript servers as compiled JavaScript, so no served process runs under tsx (as
// `ormai serve` from an installed package runs dist/). The server scripts and the example app they
// load (its policy, domain tools and generated Prisma client) are transpiled with TypeScript into
// node_modules/.cache/ormai-bench/, mirroring the repository, with the example's prisma/ a link to
// the original, so every relative import and `import.meta.url` lands where it did. ormai itself is
// dist/ (`npm run build`), linked as the mirror's src/; when a file of src/ is newer than dist/,
// src/ is compiled there instead with dist/'s tsconfig, so the bench never measures an old build.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'node_modules', '.cache', 'ormai-bench');

export interface CompiledServers {
  /** The compiled form of a server script of the repository (`bench/servers/ormai.ts`). */
  script(path: string): string;
  /** What ormai's code is: dist/, or src/ compiled for the bench (and why). */
  ormai: string;
}

const filesUnder = (dir: string, keep: (file: string) => boolean): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, keep);
    return keep(path) ? [path] : [];
  });

const isSource = (file: string) => file.endsWith('.ts') && !file.endsWith('.d.ts');

/**
 * The files of src/ changed since dist/ was built (empty: dist/ is current). dist/ is missing:
 * every file.
 */
export function staleSources(): string[] {
  const built = join(ROOT, 'dist', 'index.js');
  const sources = filesUnder(join(ROOT, 'src'), isSource);
  if (!existsSync(built)) return sources.map((file) => relative(ROOT, file));
  const builtAt = statSync(built).mtimeMs;
  return sources
    .filter((file) => statSync(file).mtimeMs > builtAt)
    .map((file) => relative(ROOT, file));
}

/** Transpiles bench/servers and examples/saas to JavaScript beside ormai's compiled src/. */
export function compileServers(): CompiledServers {
  const stale = staleSources();
  rmSync(OUT, { recursive: true, force: true });
  const sources = [
    ...filesUnder(join(ROOT, 'bench', 'servers'), isSource),
    ...filesUnder(join(ROOT, 'examples', 'saas'), isSource),
  ];
  for (const file of sources) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        verbatimModuleSyntax: true,
        rewriteRelativeImportExtensions: true,
      },
    });
    const out = join(OUT, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  symlinkSync(join(ROOT, 'examples', 'saas', 'prisma'), join(OUT, 'examples', 'saas', 'prisma'));
  const script = (path: string) => join(OUT, path.replace(/\.ts$/, '.js'));
  if (stale.length === 0) {
    symlinkSync(join(ROOT, 'dist'), join(OUT, 'src'), 'dir');
    return { script, ormai: 'dist/' };
  }
  // what scripts/build.mjs does, into the mirror; type errors do not stop the emit
  const tsc = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      ...['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(OUT, 'src')],
      ...['--declaration', 'false', '--sourceMap', 'false', '--inlineSources', 'false'],
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (!existsSync(join(OUT, 'src', 'index.js'))) {
    throw new Error(`compiling src/ for the bench failed:\n${tsc.stdout}${tsc.stderr}`);
  }
  cpSync(join(ROOT, 'src', 'db', 'migrations'), join(OUT, 'src', 'db', 'migrations'), {
    recursive: true,
    filter: (source) => !source.endsWith('.ts'),
  });
  const errors = tsc.status === 0 ? '' : ', with type errors';
  return {
    script,
    ormai: `src/ compiled for the bench${errors} (dist/ is older than ${stale.length} of its files)`,
  };
}
