import type { DatamodelField, DatamodelModel } from '../policy/datamodel.js';
import type { WhereData } from '../policy/row-scope.js';

/**
 * A row scope decided in memory, on a row loaded with `columns`: the answer is the database's for
 * every row, so a to-one relation can be loaded in its parent's statement (Prisma takes no where
 * on a to-one include) and nulled here when its row is out of scope.
 */
export interface RowCheck {
  /** The columns the check reads. */
  readonly columns: readonly string[];
  test(row: Record<string, unknown>): boolean;
}

/** `column = value`, or `column IS NULL` when value is null: one condition of an exact scope. */
export type ExactCondition = { column: string; value: unknown };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** String columns whose `=` in PostgreSQL is JavaScript's `===` (char pads, citext folds case). */
const EXACT_TEXT = new Set(['Text', 'VarChar']);

/**
 * The check of `where` (a bound row scope of `model`), or null when it is of a shape this cannot
 * decide exactly: only an AND of the model's own columns equal to a String (text or canonical uuid),
 * Int, BigInt or Boolean value, and `column: null` (soft delete). Relation filters (scope through a
 * parent), ranges, `in`, case-insensitive modes, OR and NOT, dates and decimals keep their query.
 */
export function exactRowCheck(model: DatamodelModel, where: WhereData): RowCheck | null {
  const conditions = exactConditions(model, where);
  if (!conditions) return null;
  return {
    columns: [...new Set(conditions.map((condition) => condition.column))],
    test: (row) => conditions.every(({ column, value }) => row[column] === value),
  };
}

/** The conditions of `where` when it is of the shape `exactRowCheck` decides, else null. */
export function exactConditions(model: DatamodelModel, where: WhereData): ExactCondition[] | null {
  const fields = new Map(model.fields.map((field) => [field.name, field]));
  const conditions: ExactCondition[] = [];
  return collect(where, fields, conditions) ? conditions : null;
}

function collect(
  where: WhereData,
  fields: Map<string, DatamodelField>,
  out: ExactCondition[],
): boolean {
  for (const [key, value] of Object.entries(where)) {
    if (key === 'AND') {
      const items = Array.isArray(value) ? value : [value];
      for (const item of items) {
        if (!isPlainObject(item) || !collect(item, fields, out)) return false;
      }
      continue;
    }
    const field = fields.get(key);
    if (field?.kind !== 'scalar' || field.isList) return false;
    // `{ equals: v, not: null }` is how a nullable column equal to a claim is bound: v alone decides
    const compared =
      isPlainObject(value) &&
      Object.keys(value).length === 2 &&
      'equals' in value &&
      value.not === null
        ? value.equals
        : value;
    if (compared === null) {
      if (field.type === 'Json' || field.isRequired) return false;
    } else if (!equalsExactly(field, compared)) {
      return false;
    }
    out.push({ column: key, value: compared });
  }
  return true;
}

/** Whether `column = value` in PostgreSQL is `row[column] === value` on the row Prisma returns. */
function equalsExactly(field: DatamodelField, value: unknown): boolean {
  switch (field.type) {
    case 'String': {
      if (typeof value !== 'string') return false;
      const native = field.nativeType?.[0];
      if (native === 'Uuid') return UUID.test(value);
      return native === undefined || EXACT_TEXT.has(native);
    }
    case 'Int':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'BigInt':
      return typeof value === 'bigint';
    case 'Boolean':
      return typeof value === 'boolean';
    default:
      return false;
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
