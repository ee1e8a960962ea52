import type { Redaction } from './redaction.js';

/** What one role does with one field: returns it plain, redacted, or not at all. */
export type FieldRule = { kind: 'plain' } | { kind: 'deny' } | Redaction;

/** One role's rule for a field, with the rows that role sees. */
export interface RoleFieldRule {
  role: string;
  /** The role's row filter on the model (ownership and row filter ANDed); null: every row in scope. */
  rowFilter: Record<string, unknown> | null;
  rule: FieldRule;
}

/**
 * A field the principal's roles disagree on in a way that depends on the row: its value is plain on
 * a row some role with the field plain sees, else the most restrictive rule among the roles that
 * see the row (see `strictestRule`). Decided per row at resolve time (src/plugins/redaction).
 */
export interface FieldByRole {
  model: string;
  /** The model's key fields, which name a row to the database; empty when it has none. */
  key: string[];
  /** Every role that reads the model, plain ones first. */
  rules: RoleFieldRule[];
}

const sameRule = (a: FieldRule, b: FieldRule) =>
  a.kind === b.kind && (a.kind !== 'mask' || a.pattern === (b as typeof a).pattern);

/**
 * The most restrictive of several rules: deny over hash over mask over plain. Two different mask
 * patterns each reveal something the other hides, so neither is the stricter: the value is denied.
 */
export function strictestRule(rules: readonly FieldRule[]): FieldRule {
  const deny = rules.find((rule) => rule.kind === 'deny');
  const hash = rules.find((rule) => rule.kind === 'hash');
  if (deny || hash) return deny ?? hash!;
  const masks = rules.filter((rule) => rule.kind === 'mask');
  if (masks.length === 0) return { kind: 'plain' };
  return masks.every((mask) => sameRule(mask, masks[0]!)) ? masks[0]! : { kind: 'deny' };
}

/** How several roles combine on one field, decided once per role set at compile time. */
export type MergedField =
  | { kind: 'same'; rule: FieldRule }
  | { kind: 'byRow'; rules: RoleFieldRule[]; redaction: Redaction | null; nullable: boolean };

/**
 * Merges the rules of the roles that read a model for one field. Where the answer is the same for
 * every row (a role with the field plain sees every row, every role has the same rule, or the
 * strictest rule belongs to a role that sees every row), it is one rule and costs nothing per row. Otherwise the field is decided row by row; its `redaction` is the heaviest mask or hash a
 * row may get (its values may be such strings), and it is nullable when a row may get a deny.
 */
export function mergeFieldRules(rules: RoleFieldRule[]): MergedField {
  const plain = rules.filter((entry) => entry.rule.kind === 'plain');
  const others = rules.filter((entry) => entry.rule.kind !== 'plain');
  if (others.length === 0 || plain.some((entry) => entry.rowFilter === null)) {
    return { kind: 'same', rule: { kind: 'plain' } };
  }
  const strictest = strictestRule(others.map((entry) => entry.rule));
  // every row is seen by some role, so without a plain role the answer is the same throughout
  // when the roles agree, or when a role that sees every row holds the strictest rule
  const everywhere = others.filter((entry) => entry.rowFilter === null);
  if (
    plain.length === 0 &&
    (others.every((entry) => sameRule(entry.rule, others[0]!.rule)) ||
      sameRule(strictestRule(everywhere.map((entry) => entry.rule)), strictest))
  ) {
    return { kind: 'same', rule: strictest };
  }
  const redactions = others
    .map((entry) => entry.rule)
    .filter((rule): rule is Redaction => rule.kind === 'mask' || rule.kind === 'hash');
  return {
    kind: 'byRow',
    rules: [...plain, ...others],
    redaction: redactions.find((rule) => rule.kind === 'hash') ?? redactions[0] ?? null,
    // a row seen only by a denying role, or by two roles masking differently, gets null
    nullable:
      others.some((entry) => entry.rule.kind === 'deny') ||
      strictestRule(redactions.filter((rule) => rule.kind === 'mask')).kind === 'deny',
  };
}

/**
 * What a field decided row by row says about itself (its GraphQL description, describeSchema):
 * plain on the rows the named roles see, redacted elsewhere, and never a filter or sort key.
 */
export function describeByRole(byRole: FieldByRole): string {
  const plainRoles = byRole.rules.filter((e) => e.rule.kind === 'plain').map((e) => e.role);
  const elsewhere = [
    ...new Set(byRole.rules.filter((e) => e.rule.kind !== 'plain').map((e) => ruleName(e.rule))),
  ];
  const shown =
    plainRoles.length > 0
      ? `Unredacted only on rows visible to your role${plainRoles.length > 1 ? 's' : ''} ${plainRoles.join(', ')}`
      : 'Redacted by the most restrictive of your roles that can see each row';
  return `${shown}; elsewhere ${elsewhere.join(' or ')}, as the most restrictive of your roles that see the row. You can select it, not filter, sort or aggregate on it.`;
}

function ruleName(rule: FieldRule): string {
  switch (rule.kind) {
    case 'deny':
      return 'null';
    case 'hash':
      return 'hashed';
    case 'mask':
      return rule.pattern ? `masked (${rule.pattern})` : 'masked';
    default:
      return 'plain';
  }
}
