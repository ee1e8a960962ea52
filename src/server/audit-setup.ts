import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AuditLog } from '../audit/audit-log.js';
import { entryFor } from '../audit/entries.js';
import { type AuditSink, JsonlAuditSink, SqlAuditSink } from '../audit/sinks.js';
import type { OrmaiConfig } from '../config.js';
import type { RefusedCallEvent } from '../mcp-bridge/http.js';
import type { ToolCallEvent } from '../mcp-bridge/server.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import type { Runtime } from '../runtime.js';
import type { Logger } from './logger.js';

export const DEFAULT_AUDIT_JSONL = join('.ormai', 'audit.jsonl');

/** The audit log a config asks for: the table in the app's database and/or a JSONL file. */
export function createAuditLog(config: OrmaiConfig, runtime: Runtime, logger: Logger): AuditLog {
  const wanted = config.audit?.sinks ?? ['sql', 'jsonl'];
  const sinks: AuditSink[] = [];
  if (wanted.includes('sql')) sinks.push(new SqlAuditSink(runtime.db.sql, runtime.tables));
  if (wanted.includes('jsonl')) {
    const path = config.audit?.jsonlPath ?? DEFAULT_AUDIT_JSONL;
    mkdirSync(dirname(path), { recursive: true });
    sinks.push(new JsonlAuditSink(path, config.audit?.maxFileBytes));
  }
  return new AuditLog({
    sinks,
    ...(config.audit?.failClosedReads !== undefined
      ? { failClosedReads: config.audit.failClosedReads }
      : {}),
    ...(config.audit?.durableReads ? { durableReads: true } : {}),
    ...(config.audit?.maxQueue !== undefined ? { maxQueue: config.audit.maxQueue } : {}),
    ...(config.audit?.batchDelayMs !== undefined
      ? { batchDelayMs: config.audit.batchDelayMs }
      : {}),
    onError: (sink, error) =>
      logger.error(
        { sink, err: error },
        'audit sink failing: requests are refused until it recovers',
      ),
    onRecover: (sink) => logger.info({ sink }, 'audit sink recovered'),
  });
}

/** The MCP bridge's hook: one record per tool call (the GraphQL operation it ran is not recorded again). */
export function auditToolCall(
  audit: AuditLog,
  policyFor: (principal: Principal) => CompiledPolicy,
) {
  return (event: ToolCallEvent) => {
    if (event.recorded) return;
    const model = typeof event.arguments.model === 'string' ? event.arguments.model : null;
    // awaited by the bridge when reads are durable: a record not written refuses the call
    return audit.acceptCall(
      entryFor({
        traceId: event.traceId,
        surface: 'mcp',
        operation: event.tool,
        models: model ? [model] : [],
        principal: event.principal,
        policy: policyFor(event.principal),
        inputs: event.arguments,
        rowCount: event.rowCount ?? null,
        // an error result's content carries the call's trace id: it has no digest
        ...(event.outcome === 'ok' ? { result: event.structuredContent ?? null } : {}),
        durationMs: event.durationMs,
        errorCode: event.errorCode ?? null,
        startedAt: new Date(Date.now() - event.durationMs),
      }),
    );
  };
}

/**
 * `/mcp`'s hook for refused requests (origin, authentication, a malformed message): one record
 * each, outcome error, so a probe or a rebinding page leaves a trace. The principal is null unless
 * the request authenticated before its message was found malformed. A record the log cannot take
 * (its queue full) is logged: the request is refused either way.
 */
export function auditRefusedCall(
  audit: AuditLog,
  policyFor: (principal: Principal) => CompiledPolicy,
  logger: Logger,
  /** The version being served, named when the request never authenticated. */
  policyVersion?: () => string,
) {
  return (event: RefusedCallEvent) => {
    const principal = event.principal ?? null;
    const entry = entryFor({
      traceId: event.traceId,
      surface: 'mcp',
      operation: `${event.request.method} ${new URL(event.request.url).pathname}`,
      models: [],
      principal,
      policy: principal ? policyFor(principal) : null,
      ...(principal || !policyVersion ? {} : { policyVersion: policyVersion() }),
      inputs: {
        origin: event.request.headers.get('origin'),
        ...(event.jsonRpcCode !== undefined ? { jsonrpc_error: event.jsonRpcCode } : {}),
      },
      rowCount: null,
      durationMs: event.durationMs,
      errorCode: event.code,
      startedAt: new Date(Date.now() - event.durationMs),
    });
    try {
      audit.accept({
        ...entry,
        decisions: {
          ...(entry.decisions as Record<string, unknown>),
          refused: event.reason,
          status: event.status,
        },
        reason: `${event.reason}: ${event.message}`,
      });
    } catch (error) {
      logger.error(
        { err: error, traceId: event.traceId, refused: event.reason },
        'a refused MCP request could not be recorded',
      );
    }
  };
}
