// The load: concurrent clients over loopback HTTP, each sending a mix of GraphQL operations (several
// tenants and roles) and MCP db.* tool calls, every request counted with its outcome and latency.
import { signToken } from '../../src/server/auth.js';

export const JWT_SECRET = 'reliability-secret-0123456789abcdef';

/** One request a client can send, with the tenant every row it returns must belong to. */
export interface Call {
  surface: 'graphql' | 'mcp';
  label: string;
  tenantId: number;
  token: string;
  body: string;
}

/** What the caller of a failed request was told (the contract's error fields). */
export interface TypedError {
  code: string | undefined;
  retryable: boolean | undefined;
  message: string;
}

export interface Outcome {
  surface: 'graphql' | 'mcp';
  label: string;
  /** ms since the load began */
  started: number;
  ended: number;
  /** HTTP status; 0 when the request got no response at all */
  status: number;
  ok: boolean;
  /** Why it is not ok, in a few words (for the report). */
  failure?: string;
  /** The contract error a failed request carried, when it carried one. */
  error?: TypedError;
  /** Its body names internals (a stack frame, a driver or socket error, a file path). */
  leaks: boolean;
  body?: string;
}

const GRAPHQL_QUERIES: { label: string; roles: string[]; query: string }[] = [
  {
    label: 'orders+customer',
    roles: ['admin', 'support', 'sales', 'agent'],
    query:
      '{ orders(first: 10, orderBy: [{ createdAt: DESC }], where: { status: { in: ["paid", "shipped"] } }) { totalCount nodes { id tenantId status totalCents customer { tenantId name } } } }',
  },
  {
    label: 'customers',
    roles: ['admin', 'support', 'agent'],
    query: '{ customers(first: 20, orderBy: [{ id: ASC }]) { nodes { id tenantId name tier } } }',
  },
  {
    label: 'ordersAggregate',
    roles: ['admin', 'sales'],
    query: '{ ordersAggregate { count sum { totalCents } } }',
  },
  {
    label: 'order+items',
    roles: ['admin', 'support'],
    query:
      '{ orders(first: 3) { nodes { id tenantId items(first: 5) { tenantId quantity product { tenantId name } } } } }',
  },
];

const MCP_CALLS: { label: string; arguments: Record<string, unknown> }[] = [
  {
    label: 'db.query Customer',
    arguments: { model: 'Customer', select: ['id', 'tenantId', 'name', 'email'], take: 10 },
  },
  {
    label: 'db.query Order paid',
    arguments: {
      model: 'Order',
      select: ['id', 'tenantId', 'status', 'totalCents'],
      where: [{ field: 'status', op: 'eq', value: 'paid' }],
      take: 10,
    },
  },
];

/** The example's users: tenant t has subs 10(t-1)+1..+10 (admins 1-2, support 3-5, sales 6-10). */
const SUB_OFFSET: Record<string, number> = { admin: 1, support: 3, sales: 6, agent: 1 };

/** Every call the load sends, for tenants 1..3: GraphQL for each role, MCP db.query as the agent. */
export async function buildCalls(): Promise<Call[]> {
  const calls: Call[] = [];
  for (const tenantId of [1, 2, 3]) {
    const tokenOf = (role: string) =>
      signToken(
        { sub: String(10 * (tenantId - 1) + SUB_OFFSET[role]!), tenantId, roles: [role] },
        { secret: JWT_SECRET },
      );
    for (const { label, roles, query } of GRAPHQL_QUERIES) {
      for (const role of roles) {
        calls.push({
          surface: 'graphql',
          label: `graphql ${label} as ${role}`,
          tenantId,
          token: await tokenOf(role),
          body: JSON.stringify({ query }),
        });
      }
    }
    for (const [id, { label, arguments: args }] of MCP_CALLS.entries()) {
      calls.push({
        surface: 'mcp',
        label: `mcp ${label} as agent`,
        tenantId,
        token: await tokenOf('agent'),
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: id + 1,
          method: 'tools/call',
          params: { name: 'db.query', arguments: args },
        }),
      });
    }
  }
  return calls;
}

/** What a refusal must never show a caller: a stack frame, a file, the driver or its socket error. */
export const LEAK =
  /\n\s+at |node_modules|\.ts:\d+|\.js:\d+|ECONN|Prisma|DriverAdapter|postgres|pg-pool|stack/i;

/** Every `tenantId` in a value, at any depth. */
function tenantIdsIn(value: unknown, found: Set<unknown> = new Set()): Set<unknown> {
  if (Array.isArray(value)) for (const item of value) tenantIdsIn(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'tenantId') found.add(inner);
      else tenantIdsIn(inner, found);
    }
  }
  return found;
}

/** Reads one response: ok only with HTTP 200, data and no error, every row of the caller's tenant. */
export function judge(
  call: Call,
  status: number,
  text: string,
): Pick<Outcome, 'ok' | 'failure' | 'error' | 'leaks'> {
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, failure: `HTTP ${status}, not JSON`, leaks: LEAK.test(text) };
  }
  let data: unknown;
  let error: TypedError | undefined;
  if (call.surface === 'graphql') {
    const first = body?.errors?.[0];
    if (first) {
      error = {
        code: first.extensions?.code,
        retryable: first.extensions?.retryable,
        message: String(first.message),
      };
    }
    data = body?.data;
  } else if (body?.error) {
    // a JSON-RPC error: the MCP contract keeps those for unknown tools only
    error = { code: undefined, retryable: undefined, message: String(body.error.message) };
  } else if (body?.result?.isError) {
    const structured = body.result.structuredContent?.error;
    error = {
      code: structured?.code,
      retryable: structured?.retryable,
      message: String(structured?.message ?? body.result.content?.[0]?.text),
    };
  } else {
    data = body?.result?.structuredContent;
  }
  if (error || status !== 200 || !data) {
    return {
      ok: false,
      failure: error ? `${error.code ?? 'untyped'}` : `HTTP ${status} without data`,
      ...(error ? { error } : {}),
      leaks: LEAK.test(text),
    };
  }
  const tenants = tenantIdsIn(data);
  if ([...tenants].some((tenant) => tenant !== call.tenantId)) {
    return {
      ok: false,
      failure: `rows of tenants ${[...tenants].join(',')} for tenant ${call.tenantId}`,
      leaks: false,
    };
  }
  return { ok: true, leaks: false };
}

/** Sends one call and judges its answer; a request that gets no response is an outcome too. */
export async function send(
  base: string,
  call: Call,
  t0: number,
  headers: Record<string, string> = {},
): Promise<Outcome> {
  const started = performance.now() - t0;
  const url = call.surface === 'graphql' ? `${base}/graphql` : `${base}/mcp`;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${call.token}`,
        accept:
          call.surface === 'graphql'
            ? 'application/graphql-response+json, application/json'
            : 'application/json, text/event-stream',
        ...headers,
      },
      body: call.body,
    });
    const text = await response.text();
    const verdict = judge(call, response.status, text);
    return {
      surface: call.surface,
      label: call.label,
      started,
      ended: performance.now() - t0,
      status: response.status,
      ...verdict,
      ...(verdict.ok ? {} : { body: text.slice(0, 600) }),
    };
  } catch (error) {
    return {
      surface: call.surface,
      label: call.label,
      started,
      ended: performance.now() - t0,
      status: 0,
      ok: false,
      failure: `no response: ${(error as Error).message} ${String((error as Error).cause ?? '')}`,
      leaks: false,
    };
  }
}

/**
 * `clients` concurrent loops, each sending the next call of the mix (clients start at different
 * places in it) until `stop()` says so; returns every outcome.
 */
export async function runLoad(options: {
  base: string;
  calls: Call[];
  clients: number;
  stop: (elapsedMs: number) => boolean;
  t0?: number;
}): Promise<Outcome[]> {
  const t0 = options.t0 ?? performance.now();
  const outcomes: Outcome[] = [];
  const client = async (index: number) => {
    for (let n = index; !options.stop(performance.now() - t0); n++) {
      outcomes.push(await send(options.base, options.calls[n % options.calls.length]!, t0));
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index)));
  return outcomes;
}

export interface LoadSummary {
  requests: number;
  ok: number;
  failed: number;
  graphql: number;
  mcp: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarize(outcomes: Outcome[], seconds: number): LoadSummary {
  const latencies = Float64Array.from(outcomes, (o) => o.ended - o.started).sort();
  const pct = (p: number) =>
    latencies.length === 0
      ? Number.NaN
      : latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  const round = (n: number) => Math.round(n * 10) / 10;
  const ok = outcomes.filter((o) => o.ok).length;
  return {
    requests: outcomes.length,
    ok,
    failed: outcomes.length - ok,
    graphql: outcomes.filter((o) => o.surface === 'graphql').length,
    mcp: outcomes.filter((o) => o.surface === 'mcp').length,
    seconds: round(seconds),
    requestsPerSecond: round(outcomes.length / seconds),
    p50Ms: round(pct(50)),
    p99Ms: round(pct(99)),
    maxMs: round(latencies.at(-1) ?? Number.NaN),
  };
}

/** Failures grouped by what went wrong, with one body each, for an assertion message. */
export function failuresByKind(
  outcomes: Outcome[],
): Record<string, { count: number; sample: string }> {
  const kinds: Record<string, { count: number; sample: string }> = {};
  for (const outcome of outcomes) {
    if (outcome.ok) continue;
    const key = `${outcome.label}: HTTP ${outcome.status} ${outcome.failure}`;
    kinds[key] ??= { count: 0, sample: outcome.body ?? '' };
    kinds[key].count++;
  }
  return kinds;
}
