/**
 * The ORM metadata the policy is compiled against. Its shape is the datamodel that Prisma's Pothos
 * generator emits (`getDatamodel()`), reduced to what ormai reads, so policy code needs no ORM.
 */
export interface Datamodel {
  datamodel: {
    models: Record<string, DatamodelModel>;
  };
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
