import { OrmaiError, unwrap, validationError } from '../errors.js';
import type { CompiledField, CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import { DEFAULT_MAX_FILTER_VALUES } from '../policy/defaults.js';
import { enumValuesFor, uuidValue } from '../policy/field-types.js';
import type { Principal } from '../policy/principal.js';
import { andWheres as and, tenantValue, type WhereData } from '../policy/row-scope.js';
import type { SortKey } from './cursor.js';

/** The scalar operators of a where input (CONTRACT §4), as GraphQL passes them. */
export interface ScalarFilter {
  equals?: unknown;
  not?: unknown;
  in?: unknown[] | null;
  notIn?: unknown[] | null;
  lt?: unknown;
  lte?: unknown;
  gt?: unknown;
  gte?: unknown;
  contains?: string | null;
  startsWith?: string | null;
  endsWith?: string | null;
  isNull?: boolean | null;
}

export type WhereInput = Record<string, unknown> & {
  AND?: WhereInput[] | null;
  OR?: WhereInput[] | null;
  NOT?: WhereInput[] | null;
};

/** ANDs predicates (see `andWheres`): what the schema's resolvers call. */
export { and };

/**
 * Filters for one compiled policy: the only way the schema builds a Prisma where. It holds no row
 * scope on purpose: the data-access layer adds it to every query, so no resolver can forget it.
 */
export interface WhereTranslator {
  /**
   * The caller's filter, translated. The row scope, and the scope of every relation filter in it,
   * are ANDed in by the data-access layer (src/data-access), which every query passes through.
   */
  filter(
    model: CompiledModel,
    where: WhereInput | null | undefined,
    principal: Principal | null,
  ): WhereData;
}

export function createWhereTranslator(policy: CompiledPolicy): WhereTranslator {
  /**
   * Translates a GraphQL where input into a Prisma where. The data-access layer then narrows its
   * relation filters to the rows the principal may see, so `some`/`every`/`none`/`is` never match
   * (or are never defeated by) another tenant's, another owner's or a soft-deleted row.
   */
  const translate = (
    model: CompiledModel,
    where: WhereInput | null | undefined,
    principal: Principal | null,
  ): WhereData => {
    if (!where) return {};
    const parts: WhereData[] = [];
    for (const [key, value] of Object.entries(where)) {
      if (value === undefined || value === null) continue;
      if (key === 'AND' || key === 'OR' || key === 'NOT') {
        const items = (value as WhereInput[]).map((item) => translate(model, item, principal));
        parts.push(logical(model, key, items));
        continue;
      }
      const relation = model.relations.get(key);
      if (relation) {
        // the data-access layer narrows each relation filter to the related rows in scope
        const target = policy.models.get(relation.target)!;
        for (const [op, inner] of Object.entries(value as Record<string, WhereInput | null>)) {
          if (inner === undefined || inner === null) continue;
          const sub = translate(target, inner, principal);
          if (op === 'every' && isEmpty(sub)) continue;
          parts.push({ [key]: { [op]: sub } });
        }
        continue;
      }
      const field = model.fields.get(key);
      if (!field) continue;
      // the schema offers no filter on redacted fields; this guards callers that bypass it
      if (field.redaction || field.byRole) throw notFilterable(model, field, 'filtered on');
      const scalar = field.uuid
        ? uuidFilter(model, field, value as ScalarFilter)
        : (value as ScalarFilter);
      if (model.tenantField?.name === key) checkTenantFilter(model, scalar, principal);
      parts.push(...scalarConditions(model, field, scalar));
    }
    return parts.some(isNever) ? never(model) : and(...parts);
  };

  const filter = (
    model: CompiledModel,
    where: WhereInput | null | undefined,
    principal: Principal | null,
  ): WhereData => {
    checkFilterValues(where);
    return translate(model, where, principal);
  };

  return { filter };
}

/** Each value of a where becomes a bind parameter; a statement takes only so many. */
function checkFilterValues(where: WhereInput | null | undefined) {
  let values = 0;
  const stack: unknown[] = [where];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      for (const inner of Object.values(value)) stack.push(inner);
    } else if (value !== null && value !== undefined) values += 1;
  }
  if (values > DEFAULT_MAX_FILTER_VALUES) {
    throw new OrmaiError(
      'QUERY_BUDGET_EXCEEDED',
      `the filter holds ${values} values; the limit is ${DEFAULT_MAX_FILTER_VALUES}`,
      {
        retryable: true,
        hints: ['split the filter over several requests, or narrow it with a range (gte/lte)'],
        details: {
          budget: 'max_filter_values',
          limit: DEFAULT_MAX_FILTER_VALUES,
          requested: values,
        },
      },
    );
  }
}

/**
 * A filter on the tenant field that names another tenant is a mistake worth telling: results are
 * already limited to the caller's tenant, so it could only ever return nothing.
 */
export function checkTenantFilter(
  model: CompiledModel,
  filter: ScalarFilter,
  principal: Principal | null,
) {
  const own = unwrap(tenantValue(model.tenantField!, principal));
  const named = [
    ...(filter.equals !== undefined && filter.equals !== null ? [filter.equals] : []),
    ...(Array.isArray(filter.in) ? filter.in : []),
  ];
  const other = named.find((value) => String(value) !== String(own));
  if (other !== undefined) throw tenantScopeViolation(model, other);
}

export function tenantScopeViolation(model: CompiledModel, named: unknown): OrmaiError {
  return new OrmaiError(
    'TENANT_SCOPE_VIOLATION',
    `${model.name}.${model.tenantField!.name} ${String(named)} is not your tenant`,
    {
      retryable: true,
      hints: [
        `results are already limited to your tenant; remove the ${model.tenantField!.name} filter`,
      ],
      details: { field: model.tenantField!.name, model: model.name },
    },
  );
}

/**
 * Prisma has no literal for "no row" and drops what reads as empty (`{}`, `OR: []` nested in an
 * AND), so a filter that can match nothing is written as an empty `in` on a field, and marked.
 */
const nevers = new WeakSet<object>();

function never(model: CompiledModel): WhereData {
  // every listable model has a readable field (its list would select nothing otherwise)
  const field = model.idField ?? model.tenantField ?? [...model.fields.values()][0]!;
  const where = { [field.name]: { in: [] } };
  nevers.add(where);
  return where;
}

const isNever = (where: WhereData) => nevers.has(where);
const isEmpty = (where: WhereData) => Object.keys(where).length === 0 && !isNever(where);

/**
 * AND, OR and NOT over translated filters, as logic has them: an empty filter holds for every
 * row, so `OR: [{}, …]` holds and `NOT: [{}]` does not; `OR: []` holds for no row, `AND: []` and
 * `NOT: []` for every row (Prisma would drop the empty parts and widen or narrow the result).
 */
function logical(model: CompiledModel, op: 'AND' | 'OR' | 'NOT', items: WhereData[]): WhereData {
  if (op === 'AND') {
    if (items.some(isNever)) return never(model);
    const kept = items.filter((item) => !isEmpty(item));
    return kept.length > 0 ? { AND: kept } : {};
  }
  if (op === 'OR') {
    if (items.some(isEmpty)) return {};
    const kept = items.filter((item) => !isNever(item));
    return kept.length > 0 ? { OR: kept } : never(model);
  }
  if (items.some(isEmpty)) return never(model);
  const kept = items.filter((item) => !isNever(item));
  return kept.length > 0 ? { NOT: kept } : {};
}

/** The operators a uuid takes; the schema offers no others (this guards callers that bypass it). */
const UUID_OPS = new Set(['equals', 'not', 'in', 'notIn', 'isNull']);

/**
 * A filter on a uuid column with every value checked and in canonical form: the database cannot
 * compare a uuid with other text, so other text is a VALIDATION_ERROR naming the field.
 */
function uuidFilter(
  model: CompiledModel,
  field: CompiledField,
  filter: ScalarFilter,
): ScalarFilter {
  const out: Record<string, unknown> = {};
  const check = (op: string, value: unknown) => {
    const uuid = uuidValue(value);
    if (uuid === undefined) {
      throw new OrmaiError(
        'VALIDATION_ERROR',
        `${model.name}.${field.name} ${op}: ${JSON.stringify(value)} is not a uuid`,
        {
          retryable: true,
          hints: [
            `${field.name} holds uuids (like 123e4567-e89b-12d3-a456-426614174000) and takes equals, not, in, notIn and isNull`,
          ],
          details: { field: field.name, model: model.name },
        },
      );
    }
    return uuid;
  };
  for (const [op, value] of Object.entries(filter)) {
    if (value === undefined || value === null) {
      out[op] = value;
    } else if (!UUID_OPS.has(op)) {
      throw new OrmaiError(
        'VALIDATION_ERROR',
        `${model.name}.${field.name} is a uuid: ${op} does not apply`,
        {
          retryable: true,
          hints: [`filter ${field.name} with equals, not, in, notIn or isNull`],
          details: { field: field.name, model: model.name },
        },
      );
    } else if (op === 'in' || op === 'notIn') {
      out[op] = (value as unknown[]).map((item) => check(op, item));
    } else {
      out[op] = op === 'isNull' ? value : check(op, value);
    }
  }
  return out as ScalarFilter;
}

/** `contains`, `startsWith` and `endsWith` match text as written: LIKE's wildcards are escaped. */
const escapeLike = (value: unknown) =>
  typeof value === 'string' ? value.replace(/[\\%_]/g, '\\$&') : value;

function scalarConditions(
  model: CompiledModel,
  field: CompiledField,
  filter: ScalarFilter,
): WhereData[] {
  const name = field.name;
  const conditions: WhereData[] = [];
  // a required field is never null: Prisma refuses `null` for it rather than answering
  const isNull = (yes: boolean) => {
    if (!field.nullable) {
      if (yes) conditions.push(never(model));
    } else conditions.push({ [name]: yes ? null : { not: null } });
  };
  for (const [op, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    switch (op) {
      case 'equals':
        if (value === null) isNull(true);
        else conditions.push({ [name]: { equals: value } });
        break;
      case 'not':
        if (value === null) isNull(false);
        else conditions.push({ [name]: { not: value } });
        break;
      case 'isNull':
        if (value !== null) isNull(Boolean(value));
        break;
      case 'contains':
      case 'startsWith':
      case 'endsWith':
        if (value !== null) conditions.push({ [name]: { [op]: escapeLike(value) } });
        break;
      default:
        if (value !== null) conditions.push({ [name]: { [op]: value } });
    }
  }
  return conditions;
}

/**
 * A redacted field, or one the caller's roles return plain on some rows only (`byRole`), is no
 * filter or sort key: the order or the matches would tell the values it hides.
 */
function notFilterable(model: CompiledModel, field: CompiledField, verb: string): OrmaiError {
  const plainFor = field.byRole?.rules
    .filter((entry) => entry.rule.kind === 'plain')
    .map((entry) => entry.role);
  return new OrmaiError('FIELD_NOT_ALLOWED', `${model.name}.${field.name} cannot be ${verb}`, {
    retryable: true,
    hints: [
      plainFor?.length
        ? `${field.name} is unredacted only on rows your role${plainFor.length > 1 ? 's' : ''} ${plainFor.join(', ')} can see; use a field returned unredacted on every row`
        : 'use a field that is returned unredacted',
    ],
    details: { field: field.name, model: model.name },
  });
}

/** `[{ totalCents: DESC }, …]` → sort keys ending with every key field: they break every tie. */
export function toSortKeys(
  model: CompiledModel,
  orderBy: Record<string, 'ASC' | 'DESC' | null | undefined>[] | null | undefined,
  policy: CompiledPolicy,
): SortKey[] {
  const keys: SortKey[] = [];
  for (const [index, item] of (orderBy ?? []).entries()) {
    const entries = Object.entries(item).filter(([, direction]) => direction != null);
    if (entries.length !== 1) {
      throw validationError(`orderBy[${index}] must name exactly one field`, `orderBy[${index}]`, [
        'write one field per list item, e.g. orderBy: [{ createdAt: DESC }, { id: ASC }]',
      ]);
    }
    const [field, direction] = entries[0]!;
    const named = model.fields.get(field);
    if (named?.redaction || named?.byRole) throw notFilterable(model, named, 'sorted on');
    if (keys.some((key) => key.field === field)) continue;
    const values = named ? enumValuesFor(policy, named) : null;
    // the next page of an enum order is "the values declared after this one" (Prisma has no
    // lt/gt on enums): without the values that page cannot be asked for
    if (named?.kind === 'enum' && !values) {
      throw validationError(
        `${model.name}.${field} cannot be sorted on: the values of ${named.type} are unknown`,
        `orderBy[${index}]`,
        [`sort on another field, or give the datamodel the values of ${named.type}`],
      );
    }
    keys.push({
      field,
      direction: direction === 'DESC' ? 'desc' : 'asc',
      nullable: named?.nullable ?? false,
      ...(values ? { values } : {}),
    });
  }
  // every key field, so rows equal on the caller's order still have one order (keyset cursors
  // need a total one: a tie across a page boundary would be skipped or repeated)
  for (const field of model.primaryKey) {
    if (!keys.some((key) => key.field === field.name)) {
      keys.push({ field: field.name, direction: 'asc', nullable: false });
    }
  }
  return keys;
}
