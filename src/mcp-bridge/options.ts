import type { GraphQLSchema } from 'graphql';
import type { DomainTool } from '../app.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import type { NamingOptions } from '../schema/naming.js';
import type { ToolNameStyle } from './tool-names.js';

/** Runs a GraphQL operation for a principal through the gateway (the bridge never touches the database). */
export type Execute = (operation: {
  principal: Principal;
  document: string;
  variables?: Record<string, unknown>;
  traceId?: string;
  surface?: 'mcp';
  /** The tool's name, for the audit record of a write it makes. */
  operation?: string;
}) => Promise<{
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  traceId: string;
  writesRecorded?: number;
}>;

/** What happened in one tool call: the audit hook's input. */
export interface ToolCallEvent {
  /** The tool as listed (`db_query`, or `db.query` with dotted names), whichever name was called. */
  tool: string;
  arguments: Record<string, unknown>;
  principal: Principal;
  traceId: string;
  outcome: 'ok' | 'error';
  errorCode?: string;
  /** Rows returned (db.query: the page; db.get: 0 or 1). */
  rowCount?: number;
  durationMs: number;
  /** The GraphQL operation the call ran, if it got that far. */
  document?: string;
  /** The result's `structuredContent` when the call succeeded (the audit digests it). */
  structuredContent?: Record<string, unknown>;
  /** A write recorded itself in its transaction: the audit hook adds nothing. */
  recorded: boolean;
}

export interface McpBridgeOptions {
  execute: Execute;
  policyFor(principal: Principal): CompiledPolicy;
  /** The GraphQL schema of a principal (domain tools are offered when they validate against it). */
  schemaFor?(principal: Principal): GraphQLSchema;
  /** Named GraphQL operations served next to the db.* tools. */
  domainTools?: DomainTool[];
  naming?: NamingOptions;
  /**
   * How tools are listed: `function` (default) lists `db_query`, `orders_recent_for_customer`;
   * `dotted` lists OrmAI's `db.query`. tools/call accepts the other style's names too.
   */
  toolNames?: ToolNameStyle;
  /**
   * Called once per tool call, success or failure (the audit log fills it). When it throws (the
   * call cannot be recorded), the call is refused with a retryable INTERNAL_ERROR instead.
   */
  onToolCall?: (event: ToolCallEvent) => void | Promise<void>;
  version?: string;
}
