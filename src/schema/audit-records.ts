import { OrmaiError, unwrap } from '../errors.js';
import type { CompiledField } from '../policy/compile-policy.js';
import { tenantValue } from '../policy/row-scope.js';
import type { OrmaiContext } from './context.js';
import type { SortKey } from './cursor.js';
import type { SchemaParts } from './parts.js';

const KEYS: SortKey[] = [{ field: 'id', direction: 'desc', nullable: false }];
/** The log's tenant column holds the principal's tenant id as text. */
const TENANT_COLUMN: CompiledField = {
  name: 'tenant_id',
  type: 'String',
  kind: 'scalar',
  nullable: true,
  list: false,
  redaction: null,
};
const FILTERS = {
  traceId: 'trace_id',
  surface: 'surface',
  operation: 'operation',
  outcome: 'outcome',
  errorCode: 'error_code',
  principalSub: 'principal_sub',
  model: 'model',
} as const;

/**
 * `auditRecords(where, first, after)`: the caller's tenant's audit log, newest first, for the roles
 * the policy lets read it (admin by default). Inputs were sanitized when recorded.
 */
export function addAuditRecords(parts: SchemaParts): void {
  const { builder, cursors, policy } = parts;
  if (!policy.auditReadable) return;

  const record = builder.objectRef(parts.typeName('AuditRecord')).implement({
    description:
      'One audited GraphQL operation or MCP tool call (hash-chained; see ormai audit verify)',
    fields: (t: any) => ({
      id: t.id({ resolve: (r: any) => String(r.id) }),
      ts: t.field({ type: 'DateTime', resolve: (r: any) => r.ts }),
      traceId: t.string({ resolve: (r: any) => r.trace_id }),
      surface: t.string({ resolve: (r: any) => r.surface }),
      operation: t.string({ resolve: (r: any) => r.operation }),
      model: t.string({ nullable: true, resolve: (r: any) => r.model }),
      principalSub: t.string({ nullable: true, resolve: (r: any) => r.principal_sub }),
      tenantId: t.string({ nullable: true, resolve: (r: any) => r.tenant_id }),
      roles: t.stringList({ resolve: (r: any) => r.roles }),
      inputs: t.field({ type: 'JSON', nullable: true, resolve: (r: any) => r.inputs }),
      decisions: t.field({ type: 'JSON', nullable: true, resolve: (r: any) => r.decisions }),
      rowCount: t.int({ nullable: true, resolve: (r: any) => r.row_count }),
      affectedRows: t.int({ nullable: true, resolve: (r: any) => r.affected_rows }),
      durationMs: t.float({ resolve: (r: any) => r.duration_ms }),
      outcome: t.string({ resolve: (r: any) => r.outcome }),
      errorCode: t.string({ nullable: true, resolve: (r: any) => r.error_code }),
      reason: t.string({ nullable: true, resolve: (r: any) => r.reason }),
      before: t.field({ type: 'JSON', nullable: true, resolve: (r: any) => r.before }),
      after: t.field({ type: 'JSON', nullable: true, resolve: (r: any) => r.after }),
      approvalId: t.string({ nullable: true, resolve: (r: any) => r.approval_id }),
      prevHash: t.string({ resolve: (r: any) => r.prev_hash }),
      hash: t.string({ resolve: (r: any) => r.hash }),
    }),
  });
  const where = builder.inputType(parts.typeName('AuditRecordWhereInput'), {
    description: 'Equality filters on audit records; the fields given are ANDed.',
    fields: (t: any) =>
      Object.fromEntries(Object.keys(FILTERS).map((name) => [name, t.string({ required: false })])),
  });
  const connection = builder.connectionObject(
    { type: record, name: parts.typeName('AuditRecordConnection') },
    { name: parts.typeName('AuditRecordEdge') },
  );

  builder.queryField('auditRecords', (t: any) =>
    t.field({
      type: connection,
      description: "Your tenant's audit log, newest first.",
      args: {
        where: t.arg({ type: where, required: false }),
        first: t.arg.int({ required: false }),
        after: t.arg.string({ required: false }),
      },
      complexity: (args: { first?: number | null }) => ({
        field: 1,
        multiplier: Math.max(1, args.first ?? policy.budgets.defaultTake),
      }),
      resolve: async (_root: unknown, args: any, context: OrmaiContext) => {
        if (!context.auditRecords) {
          throw new OrmaiError('INTERNAL_ERROR', 'this server keeps no queryable audit log', {
            hints: ['enable the sql audit sink'],
          });
        }
        const tenantId = String(unwrap(tenantValue(TENANT_COLUMN, context.principal)));
        const first = parts.takeOf(args.first);
        const beforeId = args.after
          ? Number(cursors.decode('AuditRecord', KEYS, args.after)[0])
          : undefined;
        const { records, hasMore } = await context.auditRecords({
          tenantId,
          where: Object.fromEntries(
            Object.entries((args.where ?? {}) as Record<string, string | null>)
              .filter(([, value]) => value != null)
              .map(([name, value]) => [FILTERS[name as keyof typeof FILTERS], value!]),
          ),
          first,
          ...(beforeId !== undefined ? { beforeId } : {}),
        });
        const cursorOf = (row: object | undefined) =>
          row ? cursors.encode('AuditRecord', KEYS, row as Record<string, unknown>) : null;
        return {
          edges: records.map((node) => ({ node, cursor: cursorOf(node) })),
          pageInfo: {
            hasNextPage: hasMore,
            hasPreviousPage: Boolean(args.after),
            startCursor: cursorOf(records[0]),
            endCursor: cursorOf(records.at(-1)),
          },
        };
      },
    }),
  );
}
