// Assertions for a user's own tests: run a call as a principal through the same gateway and MCP
// bridge as the server, then `expectNoLeaks(response, principal)` (findLeaks must find nothing) and
// `expectWithinBudget(response, principal)` (served, not refused for its size, and within the role's
// page and nesting budgets). They throw a LeakAssertionError any test runner reports as a failure.
import { callTool } from '../mcp-bridge/call-tool.js';
import type { McpBridgeOptions } from '../mcp-bridge/options.js';
import type { Ormai } from '../server/create-ormai.js';
import {
  asPrincipal,
  findLeaks,
  type Leak,
  type LeakCheckCall,
  type LeakPrincipal,
  type LeakSource,
  responseObjects,
} from './leaks.js';

/** What the test helpers read of ormai: gateway and runtime, and the MCP tools when it has them. */
export type TestSource = LeakSource & Partial<Pick<Ormai, 'tools'>>;

/** One call's answer, with what it takes to check it. */
export interface TestResponse {
  surface: 'graphql' | 'mcp';
  /** GraphQL: the response's `data`; MCP: the tool result's `structuredContent`. */
  data: unknown;
  /** GraphQL errors, or the MCP tool's error (as one entry) when `isError`. */
  errors: { message: string; code: string | undefined; details?: unknown }[];
  /** The principal it ran as. */
  principal: LeakPrincipal;
  /** The call as findLeaks and a replay take it. */
  call: LeakCheckCall;
}

/** A check that failed: the message lists each leak; `leaks` has them as data. */
export class LeakAssertionError extends Error {
  constructor(
    message: string,
    readonly leaks: Leak[],
  ) {
    super(message);
    this.name = 'LeakAssertionError';
  }
}

const sources = new WeakMap<TestResponse, TestSource>();

/** The MCP bridge of a source: ormai's own, or one over its gateway (the same execute path). */
export function toolsOf(source: TestSource): McpBridgeOptions {
  return (
    source.tools ?? {
      execute: source.gateway.execute,
      policyFor: source.gateway.policyFor,
      schemaFor: source.gateway.schemaFor,
      domainTools: source.runtime.app.domainTools ?? [],
    }
  );
}

/** Runs a GraphQL operation as the principal, in-process (the same pipeline as `/graphql`). */
export async function runGraphql(
  source: TestSource,
  principal: LeakPrincipal,
  document: string,
  variables: Record<string, unknown> = {},
): Promise<TestResponse> {
  const result = await source.gateway.execute({
    principal: asPrincipal(principal),
    document,
    variables,
    surface: 'graphql',
  });
  const response: TestResponse = {
    surface: 'graphql',
    data: result.data ?? null,
    errors: (result.errors ?? []).map((error) => ({
      message: error.message,
      code: error.extensions?.code as string | undefined,
      ...(error.extensions?.details ? { details: error.extensions.details } : {}),
    })),
    principal,
    call: { surface: 'graphql', document, variables, data: result.data ?? null },
  };
  sources.set(response, source);
  return response;
}

/** Calls an MCP tool as the principal, in-process (the same bridge as `/mcp`). */
export async function runTool(
  source: TestSource,
  principal: LeakPrincipal,
  tool: string,
  args: Record<string, unknown> = {},
): Promise<TestResponse> {
  const result = await callTool(toolsOf(source), asPrincipal(principal), tool, args);
  const structured = (result.structuredContent ?? null) as Record<string, any> | null;
  const error = result.isError ? structured?.error : undefined;
  const response: TestResponse = {
    surface: 'mcp',
    data: structured,
    errors: error
      ? [{ message: String(error.message), code: error.code, details: error.details }]
      : [],
    principal,
    call: { surface: 'mcp', tool, arguments: args, result },
  };
  sources.set(response, source);
  return response;
}

function sourceOf(response: TestResponse, source?: TestSource): TestSource {
  const found = source ?? sources.get(response);
  if (!found) {
    throw new TypeError(
      'expectNoLeaks and expectWithinBudget take a response from ormaiTest(ormai).graphql() or .callTool()',
    );
  }
  return found;
}

const list = (leaks: Leak[]) =>
  leaks.map((leak) => `  - ${leak.kind} at ${leak.path || '(root)'}: ${leak.message}`).join('\n');

/**
 * Fails when the answer gave the principal anything its policy forbids: a row of another tenant,
 * a denied field, a raw masked or hashed value, a list over `maxTake` (see findLeaks).
 */
export async function expectNoLeaks(
  response: TestResponse,
  principal: LeakPrincipal = response.principal,
  source?: TestSource,
): Promise<void> {
  const leaks = await findLeaks(sourceOf(response, source), principal, response.call);
  if (leaks.length > 0) {
    throw new LeakAssertionError(
      `expected no leaks, found ${leaks.length} for ${describePrincipal(principal)}:\n${list(leaks)}`,
      leaks,
    );
  }
}

export interface BudgetLimits {
  /** Rows of models in the whole answer at most (your own limit, on top of the policy's). */
  maxRows?: number;
}

/** Codes of a call refused for what it asked: it is not within budget. */
const REFUSED_FOR_SIZE = new Set([
  'QUERY_BUDGET_EXCEEDED',
  'QUERY_TOO_BROAD',
  'MAX_AFFECTED_ROWS_EXCEEDED',
]);

/**
 * Fails when the call was refused for its size (QUERY_BUDGET_EXCEEDED, QUERY_TOO_BROAD,
 * MAX_AFFECTED_ROWS_EXCEEDED), or its answer is over the role's budgets: a list longer than
 * `maxTake`, rows nested deeper than `maxIncludeDepth`, more rows than `limits.maxRows`.
 */
export function expectWithinBudget(
  response: TestResponse,
  principal: LeakPrincipal = response.principal,
  limits: BudgetLimits = {},
  source?: TestSource,
): void {
  const from = sourceOf(response, source);
  const who = asPrincipal(principal);
  const { budgets } = from.gateway.policyFor(who);
  const problems: Leak[] = [];
  for (const error of response.errors) {
    if (error.code && REFUSED_FOR_SIZE.has(error.code)) {
      problems.push({
        kind: 'budget',
        model: null,
        path: '',
        message: `${error.code}: ${error.message}`,
      });
    }
  }
  const found = responseObjects(from, who, response.call);
  for (const entry of found.lists) {
    if (entry.length > budgets.maxTake) {
      problems.push({
        kind: 'budget',
        model: entry.model,
        path: entry.path,
        message: `${entry.length} rows in one list, over maxTake ${budgets.maxTake}`,
      });
    }
  }
  for (const object of found.objects) {
    if (object.depth > budgets.maxIncludeDepth) {
      problems.push({
        kind: 'budget',
        model: object.model,
        path: object.path,
        message: `a row ${object.depth} relations deep, over maxIncludeDepth ${budgets.maxIncludeDepth}`,
      });
    }
  }
  const rows = found.objects.filter((object) => !object.partial).length;
  if (limits.maxRows !== undefined && rows > limits.maxRows) {
    problems.push({
      kind: 'budget',
      model: null,
      path: '',
      message: `${rows} rows in the answer, over your limit of ${limits.maxRows}`,
    });
  }
  if (problems.length > 0) {
    throw new LeakAssertionError(
      `expected the call to be within budget for ${describePrincipal(principal)}:\n${list(problems)}`,
      problems,
    );
  }
}

export const describePrincipal = (principal: LeakPrincipal) =>
  `sub ${principal.sub}, tenant ${principal.tenantId}, roles ${principal.roles.join(', ') || '(none)'}`;
