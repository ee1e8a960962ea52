import DataLoader from 'dataloader';
import { policyWhere } from '../../data-access/index.js';
import type { Datamodel } from '../../policy/datamodel.js';
import {
  type FieldByRole,
  type FieldRule,
  type RoleFieldRule,
  strictestRule,
} from '../../policy/role-rules.js';
import { bindTemplate } from '../../policy/row-scope.js';
import { delegateOf, type OrmaiContext } from '../../schema/context.js';
import { tuplesWhere, tupleText } from '../../schema/row-keys.js';

type Row = Record<string, unknown>;
type Loader = DataLoader<unknown[], boolean>;

/** Keys per statement: each is a bind parameter, and a statement takes only so many. */
const MAX_KEYS_PER_STATEMENT = 1000;

const loadersByContext = new WeakMap<object, Map<string, Loader>>();

/**
 * The rule one row of a field decided by role gets: plain when a role with the field plain sees
 * the row, else the most restrictive rule among the roles that see it. Whether a role sees a row
 * is asked of the database with that role's own row filter, batched per model and role.
 */
export async function ruleForRow(
  byRole: FieldByRole,
  row: Row,
  context: OrmaiContext,
  datamodel: Datamodel,
): Promise<FieldRule> {
  const key = byRole.key.map((field) => row[field]);
  if (key.length === 0 || key.some((value) => value === null || value === undefined)) {
    // a row the database cannot be asked about gets what every role would allow
    return strictestRule(byRole.rules.map((entry) => entry.rule));
  }
  const sees = await Promise.all(
    byRole.rules.map((entry) =>
      entry.rowFilter === null ? true : loaderFor(byRole, entry, context, datamodel).load(key),
    ),
  );
  const seeing = byRole.rules.filter((_, index) => sees[index]);
  if (seeing.some((entry) => entry.rule.kind === 'plain')) return { kind: 'plain' };
  // every visible row is some role's; a row none of them sees gets nothing
  if (seeing.length === 0) return { kind: 'deny' };
  return strictestRule(seeing.map((entry) => entry.rule));
}

/**
 * Per request, model and role: which of the given rows the role's row filter admits. One statement
 * per batch, through the request's client (so the request's own row scope is ANDed in as well):
 * `WHERE <role filter> AND key IN (…)`. Not cached across batches: a write in the same request may
 * move a row out of a role's sight.
 */
function loaderFor(
  byRole: FieldByRole,
  entry: RoleFieldRule,
  context: OrmaiContext,
  datamodel: Datamodel,
): Loader {
  let loaders = loadersByContext.get(context);
  if (!loaders) {
    loaders = new Map();
    loadersByContext.set(context, loaders);
  }
  const name = `${byRole.model}\u0000${entry.role}`;
  let loader = loaders.get(name);
  if (!loader) {
    const { model, key } = byRole;
    const filter = entry.rowFilter!;
    loader = new DataLoader<unknown[], boolean>(
      async (wanted) => {
        const distinct = [...new Map(wanted.map((values) => [tupleText(values), values])).values()];
        const rows = await delegateOf(context.prisma, model).findMany({
          where: {
            AND: [
              // read as the row scope reads it: the same rows as the scope's OR, none narrowed
              policyWhere(bindTemplate(filter, model, context.principal, datamodel)),
              tuplesWhere(key, distinct),
            ],
          },
          select: Object.fromEntries(key.map((field) => [field, true])),
        });
        const seen = new Set(rows.map((row) => tupleText(key.map((field) => row[field]))));
        return wanted.map((values) => seen.has(tupleText(values)));
      },
      { cache: false, maxBatchSize: MAX_KEYS_PER_STATEMENT },
    );
    loaders.set(name, loader);
  }
  return loader;
}
