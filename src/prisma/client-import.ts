import { dirname, relative, resolve, sep } from 'node:path';
import { schemaFiles } from './read-schema.js';

/** Where the app's generated PrismaClient is imported from, as found in its generator block. */
export interface PrismaClientImport {
  /** The module specifier, relative to the config file or a package (`@prisma/client`). */
  specifier: string;
  /** The generator block it came from (`client`) and its provider. */
  generator: string;
  provider: string;
}

// Prisma 7's `prisma-client` writes client.ts into its output; early 6.x releases named it prisma-client-ts
const TS_CLIENT_PROVIDERS = new Set(['prisma-client', 'prisma-client-ts']);
const JS_CLIENT_PROVIDER = 'prisma-client-js';

/**
 * The PrismaClient import for a config file in `configDir`, read from the schema's generator blocks
 * (`output` is relative to the schema file that declares it). Null when no client generator is
 * found. A generator's block is simple enough for a regular expression: `key = "value"` lines.
 */
export function prismaClientImport(
  schemaPath: string,
  configDir: string,
): PrismaClientImport | null {
  const root = resolve(schemaPath);
  const generators = schemaFiles(root).flatMap(([path, text]) =>
    generatorBlocks(text).map((block) => ({ ...block, dir: dirname(resolve(root, path)) })),
  );
  const found =
    generators.find((block) => TS_CLIENT_PROVIDERS.has(block.provider) && block.output) ??
    generators.find((block) => block.provider === JS_CLIENT_PROVIDER);
  if (!found) return null;
  const file = TS_CLIENT_PROVIDERS.has(found.provider) ? 'client.js' : 'index.js';
  return {
    specifier: found.output
      ? importPath(configDir, resolve(found.dir, found.output, file))
      : '@prisma/client',
    generator: found.name,
    provider: found.provider,
  };
}

interface GeneratorBlock {
  name: string;
  provider: string;
  output: string | undefined;
}

function generatorBlocks(text: string): GeneratorBlock[] {
  const source = text.replace(/\/\/.*$/gm, '');
  return [...source.matchAll(/\bgenerator\s+(\w+)\s*\{([^}]*)\}/g)].map((match) => {
    const body = match[2]!;
    const value = (key: string) => body.match(new RegExp(`\\b${key}\\s*=\\s*"([^"]*)"`))?.[1];
    return { name: match[1]!, provider: value('provider') ?? '', output: value('output') };
  });
}

/** `./src/generated/prisma/client.js`: relative, with forward slashes and a leading `./`. */
function importPath(from: string, to: string): string {
  const path = relative(from, to).split(sep).join('/');
  return path.startsWith('../') ? path : `./${path}`;
}
