import type { AuditEntry } from '../../src/audit/record.js';

/**
 * An audit entry as the gateway would accept it for a successful read by tenant 1's principal 1:
 * the fields a test cares about are given in `fields`.
 */
export function auditEntry(fields: Partial<AuditEntry> = {}): AuditEntry {
  return {
    ts: new Date().toISOString(),
    trace_id: 'trace',
    surface: 'graphql',
    operation: 'query',
    model: null,
    principal_sub: '1',
    tenant_id: '1',
    roles: ['agent'],
    inputs: null,
    decisions: null,
    row_count: 0,
    affected_rows: null,
    duration_ms: 1,
    outcome: 'ok',
    error_code: null,
    reason: null,
    before: null,
    after: null,
    approval_id: null,
    policy_version: null,
    result_digest: null,
    ...fields,
  };
}
