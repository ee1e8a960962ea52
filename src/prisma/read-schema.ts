import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Datamodel, DatamodelField, DatamodelModel } from '../policy/datamodel.js';

/** The subset of Prisma's DMMF datamodel that ormai reads. */
interface DmmfModel {
  name: string;
  dbName: string | null;
  schema?: string | null;
  fields: (DatamodelField & { dbName?: string | null })[];
  primaryKey: { name: string | null; fields: string[] } | null;
  uniqueIndexes: { name: string | null; fields: string[] }[];
}

interface DmmfEnum {
  name: string;
  values: { name: string }[];
}

interface SchemaWasm {
  get_dmmf(params: string): string;
}

const require = createRequire(import.meta.url);

/**
 * The datamodel of a Prisma schema (a `schema.prisma` file, or a folder of `.prisma` files), read with
 * Prisma's own schema parser (`@prisma/prisma-schema-wasm`): no generator to add and no `prisma
 * generate` to run for ormai. Table and column names from `@@map`/`@map` are kept (`dbName`).
 */
export function readPrismaSchema(path: string | URL): Datamodel {
  const location = path instanceof URL ? fileURLToPath(path) : resolve(path);
  const files = schemaFiles(location).map(
    ([name, text]) => [name, withoutConnectionUrls(text)] as [string, string],
  );
  const wasm = require('@prisma/prisma-schema-wasm') as SchemaWasm;
  let dmmf: { datamodel: { models: DmmfModel[]; enums?: DmmfEnum[] } };
  try {
    dmmf = JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema: files })));
  } catch (error) {
    throw new Error(`cannot read the Prisma schema ${path}: ${schemaErrorMessage(error)}`, {
      cause: error,
    });
  }
  return {
    ...datamodelFromDmmf(dmmf.datamodel.models),
    enums: Object.fromEntries(
      (dmmf.datamodel.enums ?? []).map((e) => [e.name, e.values.map((value) => value.name)]),
    ),
  };
}

/** Pothos's datamodel shape (what `getDatamodel()` returns), plus the database names. */
export function datamodelFromDmmf(models: readonly DmmfModel[]): Datamodel {
  const out: Record<string, DatamodelModel> = {};
  for (const model of models) {
    out[model.name] = {
      dbName: model.dbName,
      schema: model.schema ?? null,
      fields: model.fields.map((field) => ({
        name: field.name,
        dbName: field.dbName ?? null,
        type: field.type,
        kind: field.kind,
        isRequired: field.isRequired,
        isList: field.isList,
        isId: field.isId,
        isUnique: field.isUnique,
        hasDefaultValue: field.hasDefaultValue ?? false,
        isUpdatedAt: field.isUpdatedAt ?? false,
        ...(field.nativeType ? { nativeType: field.nativeType } : {}),
        ...(field.relationName ? { relationName: field.relationName } : {}),
        ...(field.relationFromFields ? { relationFromFields: field.relationFromFields } : {}),
        ...(field.relationToFields
          ? { relationToFields: (field as { relationToFields?: string[] }).relationToFields }
          : {}),
      })),
      primaryKey: model.primaryKey
        ? { name: model.primaryKey.name, fields: model.primaryKey.fields }
        : null,
      uniqueIndexes: model.uniqueIndexes.map((index) => ({
        name: index.name,
        fields: index.fields,
      })),
    };
  }
  return { datamodel: { models: out } };
}

/** `[[name, content]]` for a file, or for every `.prisma` file under a folder (multi-file schemas). */
export function schemaFiles(path: string): [string, string][] {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new Error(`no Prisma schema at ${path}`);
  if (stat.isFile()) return [[path, readFileSync(path, 'utf8')]];
  const found: [string, string][] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'migrations' && entry.name !== 'node_modules')
        walk(full);
      else if (entry.isFile() && entry.name.endsWith('.prisma'))
        found.push([relative(path, full), readFileSync(full, 'utf8')]);
    }
  };
  walk(path);
  if (found.length === 0) throw new Error(`no .prisma files under ${path}`);
  return found.sort(([a], [b]) => a.localeCompare(b));
}

/**
 * Prisma 7 moved connection URLs to prisma.config.ts and its parser refuses them in the schema;
 * Prisma 6 schemas still have `url = env("DATABASE_URL")`. The datamodel needs none of them.
 */
function withoutConnectionUrls(schema: string): string {
  return schema.replace(
    /(datasource\s+\w+\s*\{)([^}]*)\}/g,
    (_block, head: string, body: string) =>
      `${head}${body.replace(/^\s*(url|directUrl|shadowDatabaseUrl)\s*=.*$/gm, '')}}`,
  );
}

/** The parser throws a JSON string of diagnostics or a plain message; either way, one readable line. */
function schemaErrorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  let message = text;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {}
  // the parser colours its output for a terminal
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape is what is removed
  return message.replace(/\u001b\[[0-9;]*m/g, '');
}
