/**
 * The ORM metadata the policy is compiled against. Its shape is the datamodel that Prisma's Pothos
 * generator emits (`getDatamodel()`), reduced to what ormai reads, so policy code needs no ORM.
 */
export interface Datamodel {
  datamodel: {
    models: Record<string, DatamodelModel>;
  };
  /**
   * The values of each enum, by enum name: `readPrismaSchema` fills it; with Pothos's
   * `getDatamodel()` (which has none) pass the generated client's enums module as is
   * (`{ ...getDatamodel(), enums }`). An enum whose values are unknown is served as a String.
   */
  enums?: Readonly<Record<string, readonly string[] | Readonly<Record<string, string>>>>;
}

/** Each enum's values, from either shape `Datamodel.enums` takes. */
export function enumValuesOf(datamodel: Datamodel): Map<string, readonly string[]> {
  return new Map(
    Object.entries(datamodel.enums ?? {})
      .filter(([, values]) => values && typeof values === 'object')
      .map(([name, values]) => [name, Array.isArray(values) ? values : Object.values(values)]),
  );
}

export interface DatamodelModel {
  fields: readonly DatamodelField[];
  /** The table name when `@@map` renames it (absent in Pothos's generated datamodel). */
  dbName?: string | null;
  /** The PostgreSQL schema with `@@schema` (multi-schema); null for the datasource's default. */
  schema?: string | null;
  primaryKey: { name: string | null; fields: readonly string[] } | null;
  uniqueIndexes: readonly { name: string | null; fields: readonly string[] }[];
}

export interface DatamodelField {
  name: string;
  /** The column name when `@map` renames it (absent in Pothos's generated datamodel). */
  dbName?: string | null;
  /** `Int`, `String`, … for scalars; the enum name for enums; the target model for relations. */
  type: string;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported' | string;
  isRequired: boolean;
  isList: boolean;
  isId: boolean;
  isUnique: boolean;
  hasDefaultValue?: boolean;
  isUpdatedAt?: boolean;
  relationName?: string;
  relationFromFields?: readonly string[];
  relationToFields?: readonly string[];
  /**
   * The column's database type when the schema names one (`@db.Uuid` → `['Uuid', []]`), as Prisma's
   * DMMF has it; absent in Pothos's generated datamodel, where a uuid column is served as a String.
   */
  nativeType?: readonly [string, readonly string[]] | null;
}

/** A String field stored as a PostgreSQL uuid: only uuids compare with it, and no text operator. */
export function isUuidColumn(field: DatamodelField): boolean {
  return field.type === 'String' && field.nativeType?.[0] === 'Uuid';
}

export type ScalarType =
  | 'Int'
  | 'Float'
  | 'String'
  | 'Boolean'
  | 'DateTime'
  | 'Json'
  | 'BigInt'
  | 'Decimal'
  | 'Bytes';
