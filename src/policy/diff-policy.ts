import type {
  CompiledModel,
  CompiledPolicy,
  CompiledWrite,
  PolicyEngine,
  TenantScope,
} from './compile-policy.js';
import { canonicalJson } from './redaction.js';

/** Whether a change lets the role see or do more (`widens`), less (`narrows`), or neither simply. */
export type ChangeEffect = 'widens' | 'narrows' | 'changes';

export type ChangeKind =
  | 'model'
  | 'field'
  | 'relation'
  | 'rows'
  | 'tenant'
  | 'soft-delete'
  | 'require-filter'
  | 'view'
  | 'budget'
  | 'write'
  | 'approvals'
  | 'audit';

/** One difference in what a role reads or does, between two compiled policies. */
export interface PolicyChange {
  kind: ChangeKind;
  /** What it is about: `Customer`, `Customer.email`, `budgets.maxTake`, `writes.Order.update.fields`. */
  subject: string;
  /** The value before and after, as JSON (a rule name, a number, a row filter; null: none). */
  old: unknown;
  new: unknown;
  effect: ChangeEffect;
}

export interface RoleDiff {
  /** The role, or `*` when neither policy has role overlays (everyone reads the base). */
  role: string;
  /** `added`/`removed`: the role is declared by the new/old policy only. */
  status: 'added' | 'removed' | 'changed' | 'unchanged';
  changes: PolicyChange[];
}

export interface PolicyDiff {
  roles: RoleDiff[];
  /** Changes counted by effect, over every role. */
  totals: Record<ChangeEffect, number>;
}

/**
 * What changes for each role between two policies over the same datamodel, compared on what each
 * role actually gets once compiled (defaults, profiles, deny globs and overlays applied), not on
 * the policy objects: a field newly masked by a glob shows up, a reordered object does not. Every
 * role either policy declares is compared on its own; a role one policy lacks reads nothing there
 * (or the base, when that policy has no roles at all). Pure.
 */
export function diffPolicies(before: PolicyEngine, after: PolicyEngine): PolicyDiff {
  const declared = [...new Set([...before.declaredRoles, ...after.declaredRoles])].sort();
  const roles = declared.length > 0 ? declared : ['*'];
  const totals: Record<ChangeEffect, number> = { widens: 0, narrows: 0, changes: 0 };
  const diffs = roles.map((role): RoleDiff => {
    const set = role === '*' ? [] : [role];
    const changes = diffCompiled(before.forRoles(set), after.forRoles(set));
    for (const change of changes) totals[change.effect] += 1;
    const inBefore = role === '*' || before.declaredRoles.includes(role);
    const inAfter = role === '*' || after.declaredRoles.includes(role);
    return {
      role,
      status: !inBefore
        ? 'added'
        : !inAfter
          ? 'removed'
          : changes.length > 0
            ? 'changed'
            : 'unchanged',
      changes,
    };
  });
  return { roles: diffs, totals };
}

/** The differences between what one set of roles gets under two compiled policies. */
export function diffCompiled(before: CompiledPolicy, after: CompiledPolicy): PolicyChange[] {
  const changes: PolicyChange[] = [];
  const add = (
    kind: ChangeKind,
    subject: string,
    old: unknown,
    next: unknown,
    effect: ChangeEffect,
  ) => changes.push({ kind, subject, old, new: next, effect });

  for (const name of union(before.models.keys(), after.models.keys())) {
    const was = before.models.get(name);
    const is = after.models.get(name);
    if (!was || !is) {
      add(
        'model',
        name,
        was ? modelSummary(was) : 'hidden',
        is ? modelSummary(is) : 'hidden',
        is ? 'widens' : 'narrows',
      );
      continue;
    }
    diffModel(was, is, add);
  }

  for (const name of union(before.views.keys(), after.views.keys())) {
    const shape = (policy: CompiledPolicy) => {
      const view = policy.views.get(name);
      return view
        ? {
            model: view.model,
            fields: view.fields.map((field) => field.name),
            computed: view.computed.map((c) => c.name),
          }
        : null;
    };
    const was = shape(before);
    const is = shape(after);
    if (canonicalJson(was) === canonicalJson(is)) continue;
    add(
      'view',
      name,
      was,
      is,
      !was ? 'widens' : !is ? 'narrows' : setEffect(listOf(was), listOf(is)),
    );
  }

  for (const key of union(Object.keys(before.budgets), Object.keys(after.budgets))) {
    const was = (before.budgets as Record<string, unknown>)[key] ?? null;
    const is = (after.budgets as Record<string, unknown>)[key] ?? null;
    if (was === is) continue;
    // every budget is a ceiling: a higher one lets more through
    add('budget', `budgets.${key}`, was, is, numberEffect(was, is));
  }

  for (const model of union(before.writes.keys(), after.writes.keys())) {
    for (const kind of ['create', 'update', 'delete', 'bulk'] as const) {
      const was = before.writes.get(model)?.[kind];
      const is = after.writes.get(model)?.[kind];
      const subject = `writes.${model}.${kind}`;
      if (!was || !is) {
        if (was || is)
          add('write', subject, was ? 'on' : 'off', is ? 'on' : 'off', is ? 'widens' : 'narrows');
        continue;
      }
      diffWrite(subject, was, is, add);
    }
  }
  if (before.canApprove !== after.canApprove) {
    add(
      'approvals',
      'approve',
      before.canApprove,
      after.canApprove,
      after.canApprove ? 'widens' : 'narrows',
    );
  }
  if (before.canApprove && after.canApprove) {
    if (before.allowSelfApproval !== after.allowSelfApproval) {
      add(
        'approvals',
        'approve.ownRequests',
        before.allowSelfApproval,
        after.allowSelfApproval,
        after.allowSelfApproval ? 'widens' : 'narrows',
      );
    }
  }
  if (
    (before.writes.size > 0 || after.writes.size > 0) &&
    before.approvalTtlSeconds !== after.approvalTtlSeconds
  ) {
    add(
      'approvals',
      'approvalTtlSeconds',
      before.approvalTtlSeconds,
      after.approvalTtlSeconds,
      numberEffect(before.approvalTtlSeconds, after.approvalTtlSeconds),
    );
  }
  if (before.auditReadable !== after.auditReadable) {
    add(
      'audit',
      'audit log',
      before.auditReadable,
      after.auditReadable,
      after.auditReadable ? 'widens' : 'narrows',
    );
  }
  return changes;
}

type Add = (
  kind: ChangeKind,
  subject: string,
  old: unknown,
  next: unknown,
  effect: ChangeEffect,
) => void;

function diffModel(was: CompiledModel, is: CompiledModel, add: Add) {
  const name = is.name;
  for (const field of union(was.fields.keys(), is.fields.keys())) {
    const before = fieldRule(was, field);
    const after = fieldRule(is, field);
    if (before === after) continue;
    const rank = (rule: string) => EXPOSURE[rule.split(' ')[0]!] ?? 0;
    add(
      'field',
      `${name}.${field}`,
      before,
      after,
      rank(after) > rank(before) ? 'widens' : rank(after) < rank(before) ? 'narrows' : 'changes',
    );
  }
  for (const relation of union(was.relations.keys(), is.relations.keys())) {
    const before = was.relations.has(relation);
    const after = is.relations.has(relation);
    if (before === after) continue;
    add(
      'relation',
      `${name}.${relation}`,
      before ? 'allow' : 'deny',
      after ? 'allow' : 'deny',
      after ? 'widens' : 'narrows',
    );
  }
  const rowsBefore = rowsOf(was);
  const rowsAfter = rowsOf(is);
  if (canonicalJson(rowsBefore) !== canonicalJson(rowsAfter)) {
    add(
      'rows',
      `${name} rows`,
      rowsBefore,
      rowsAfter,
      rowsBefore === null ? 'narrows' : rowsAfter === null ? 'widens' : 'changes',
    );
  }
  const tenantBefore = tenantOf(was);
  const tenantAfter = tenantOf(is);
  if (tenantBefore !== tenantAfter) {
    const unscoped = (scope: string) => scope === 'global' || scope === 'unscoped';
    add(
      'tenant',
      `${name} tenant`,
      tenantBefore,
      tenantAfter,
      unscoped(tenantAfter) && !unscoped(tenantBefore)
        ? 'widens'
        : unscoped(tenantBefore) && !unscoped(tenantAfter)
          ? 'narrows'
          : 'changes',
    );
  }
  if (was.softDeleteField !== is.softDeleteField) {
    add(
      'soft-delete',
      `${name} soft delete`,
      was.softDeleteField,
      is.softDeleteField,
      // without a soft-delete field, deleted rows are read like any other
      is.softDeleteField === null ? 'widens' : was.softDeleteField === null ? 'narrows' : 'changes',
    );
  }
  const planner = (model: CompiledModel) =>
    (model.plannerBudget ?? {}) as Partial<Record<string, number | null>>;
  for (const key of union(Object.keys(planner(was)), Object.keys(planner(is)))) {
    const before = planner(was)[key] ?? null;
    const after = planner(is)[key] ?? null;
    if (before === after) continue;
    // null is no limit: the most generous of all
    add(
      'budget',
      `${name} ${key}`,
      before,
      after,
      before === null ? 'narrows' : after === null ? 'widens' : numberEffect(before, after),
    );
  }
  if (was.requireFilter !== is.requireFilter) {
    add(
      'require-filter',
      `${name} requireFilter`,
      was.requireFilter,
      is.requireFilter,
      is.requireFilter ? 'narrows' : 'widens',
    );
  }
}

function diffWrite(subject: string, was: CompiledWrite, is: CompiledWrite, add: Add) {
  if (canonicalJson(was.fields) !== canonicalJson(is.fields)) {
    add('write', `${subject}.fields`, was.fields, is.fields, setEffect(was.fields, is.fields));
  }
  if (was.requireReason !== is.requireReason) {
    add(
      'write',
      `${subject}.requireReason`,
      was.requireReason,
      is.requireReason,
      is.requireReason ? 'narrows' : 'widens',
    );
  }
  if (was.maxAffectedRows !== is.maxAffectedRows) {
    add(
      'write',
      `${subject}.maxAffectedRows`,
      was.maxAffectedRows,
      is.maxAffectedRows,
      numberEffect(was.maxAffectedRows, is.maxAffectedRows),
    );
  }
  if (canonicalJson(was.requireApproval) !== canonicalJson(is.requireApproval)) {
    // approval on fewer calls lets more through without a second person
    const gated = (rule: CompiledWrite['requireApproval']) =>
      rule === true ? 1 : rule === false ? Number.POSITIVE_INFINITY : rule.minIds;
    add(
      'write',
      `${subject}.requireApproval`,
      was.requireApproval,
      is.requireApproval,
      numberEffect(gated(was.requireApproval), gated(is.requireApproval)),
    );
  }
  if (was.allowHardDelete !== is.allowHardDelete) {
    add(
      'write',
      `${subject}.allowHardDelete`,
      was.allowHardDelete,
      is.allowHardDelete,
      is.allowHardDelete ? 'widens' : 'narrows',
    );
  }
}

/** How open each field rule is: a change to a higher one shows the role more. */
const EXPOSURE: Record<string, number> = { deny: 0, hash: 1, mask: 2, allow: 3 };

/** `allow`, `mask`, `mask ****{last4}`, `hash` or `deny` (absent from the role's schema). */
function fieldRule(model: CompiledModel, name: string): string {
  const field = model.fields.get(name);
  if (!field) return 'deny';
  const redaction = field.redaction;
  if (!redaction) return 'allow';
  return redaction.kind === 'mask' && redaction.pattern
    ? `mask ${redaction.pattern}`
    : redaction.kind;
}

/** The role's row filter (ownership and row filter ANDed); null: every row in scope. */
function rowsOf(model: CompiledModel): unknown {
  const filters = model.rowFilters;
  if (!filters) return null;
  return filters.length === 1 ? filters[0] : { OR: filters };
}

/** `tenantId`, `through order (Order)`, `global` or `unscoped`. */
function tenantOf(model: CompiledModel): string {
  if (model.global) return 'global';
  if (model.tenantField) return `by ${model.tenantField.name}`;
  if (model.scopeThrough) return `through ${model.scopeThrough.relation} (${parentName(model)})`;
  return 'unscoped';
}

const parentName = (scope: TenantScope) => scope.scopeThrough!.parent.name;

/** A model a role newly reads (or no longer reads), in one value: its fields with their rules. */
function modelSummary(model: CompiledModel): Record<string, string> {
  return Object.fromEntries([...model.fields.keys()].map((name) => [name, fieldRule(model, name)]));
}

function listOf(view: { fields: string[]; computed: string[] }): string[] {
  return [...view.fields, ...view.computed];
}

/** More members widens, fewer narrows; a swap is a change. */
function setEffect(before: readonly string[], after: readonly string[]): ChangeEffect {
  const gained = after.some((item) => !before.includes(item));
  const lost = before.some((item) => !after.includes(item));
  return gained && !lost ? 'widens' : lost && !gained ? 'narrows' : 'changes';
}

function numberEffect(before: unknown, after: unknown): ChangeEffect {
  if (typeof before !== 'number' || typeof after !== 'number') return 'changes';
  return after > before ? 'widens' : after < before ? 'narrows' : 'changes';
}

/** The keys of both, in first-seen order. */
function union<T>(a: Iterable<T>, b: Iterable<T>): T[] {
  return [...new Set([...a, ...b])];
}

/**
 * The diff as text, one block per role: each change as `subject  old → new  effect`, widening
 * ones first so a reviewer sees what now shows more.
 */
export function formatPolicyDiff(diff: PolicyDiff): string[] {
  const lines: string[] = [];
  const order: Record<ChangeEffect, number> = { widens: 0, narrows: 1, changes: 2 };
  for (const role of diff.roles) {
    const label = role.role === '*' ? 'every role' : `role ${role.role}`;
    const status =
      role.status === 'added' ? ' (new)' : role.status === 'removed' ? ' (removed)' : '';
    if (role.changes.length === 0) {
      lines.push(`${label}${status}: unchanged`);
      continue;
    }
    lines.push(`${label}${status}: ${countText(role.changes)}`);
    const changes = [...role.changes].sort((a, b) => order[a.effect] - order[b.effect]);
    const width = Math.max(...changes.map((change) => change.subject.length));
    for (const change of changes) {
      lines.push(
        `  ${change.subject.padEnd(width)}  ${showValue(change, change.old)} → ${showValue(change, change.new)}  [${change.effect}]`,
      );
    }
  }
  const { widens, narrows, changes } = diff.totals;
  lines.push(
    widens + narrows + changes === 0
      ? 'no role reads or writes anything differently'
      : `${widens} widening, ${narrows} narrowing, ${changes} other change(s)`,
  );
  return lines;
}

function countText(changes: PolicyChange[]): string {
  const by = (effect: ChangeEffect) => changes.filter((change) => change.effect === effect).length;
  const parts = (['widens', 'narrows', 'changes'] as const)
    .filter((effect) => by(effect) > 0)
    .map((effect) => `${by(effect)} ${effect}`);
  return `${changes.length} change(s) (${parts.join(', ')})`;
}

/** A change's value in words: a rule, a row filter, a model's fields, a number. */
function showValue(change: PolicyChange, value: unknown): string {
  switch (change.kind) {
    case 'model':
      return typeof value === 'string'
        ? value
        : `readable (${Object.entries(value as Record<string, string>)
            .map(([field, rule]) => (rule === 'allow' ? field : `${field} ${rule}`))
            .join(', ')})`;
    case 'rows':
      return value === null ? 'every row in scope' : `where ${showWhere(value)}`;
    case 'budget':
      return value === null ? 'no limit' : String(value);
    case 'soft-delete':
      return value === null ? 'off (deleted rows read)' : `by ${String(value)}`;
    case 'view':
      return value === null
        ? 'none'
        : `${(value as { model: string }).model} (${listOf(value as { fields: string[]; computed: string[] }).join(', ')})`;
    default:
      break;
  }
  if (change.subject.endsWith('.requireApproval')) {
    return value === true
      ? 'always'
      : value === false
        ? 'never'
        : `from ${(value as { minIds: number }).minIds} ids`;
  }
  if (Array.isArray(value)) return value.length > 0 ? value.join(', ') : '(none)';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value === null) return 'none';
  return typeof value === 'string' ? value : canonicalJson(value);
}

/** A row filter: `a = v AND b = w` for plain equalities, its JSON otherwise. */
function showWhere(where: unknown): string {
  if (where && typeof where === 'object' && !Array.isArray(where)) {
    const entries = Object.entries(where as Record<string, unknown>);
    if (entries.every(([key, value]) => !/^(AND|OR|NOT)$/.test(key) && isScalar(value))) {
      return entries.map(([key, value]) => `${key} = ${String(value)}`).join(' AND ');
    }
  }
  return canonicalJson(where);
}

const isScalar = (value: unknown) =>
  value === null || ['string', 'number', 'boolean'].includes(typeof value);
