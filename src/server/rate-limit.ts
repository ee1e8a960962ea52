import { OrmaiError } from '../errors.js';
import type { Principal } from '../policy/principal.js';
import type { WriteAuditFacts } from '../schema/context.js';
import { StartupError } from '../startup-error.js';

/** At most `requests` calls per `windowSeconds`. */
export interface RequestLimit {
  requests: number;
  windowSeconds: number;
}

/** At most `affectedRows` rows written per `windowSeconds`. */
export interface AffectedRowsLimit {
  affectedRows: number;
  windowSeconds: number;
}

/** A role's own per-principal limits; `null` lifts that limit for the role. */
export interface RoleRateLimits {
  perPrincipal?: RequestLimit | null;
  writes?: { perPrincipal?: AffectedRowsLimit | null };
}

/**
 * `rateLimits` in the config: requests (GraphQL operations and MCP tool calls alike) and rows
 * written, per tenant and per principal (a `sub` within its tenant), counted in PostgreSQL so every
 * replica shares them. Off when absent.
 */
export interface RateLimits {
  perTenant?: RequestLimit;
  perPrincipal?: RequestLimit;
  writes?: { perTenant?: AffectedRowsLimit; perPrincipal?: AffectedRowsLimit };
  /** Per-principal limits by role; with several roles the most generous applies. */
  roles?: Record<string, RoleRateLimits>;
}

export type RateLimitScope = 'tenant' | 'principal';
export type RateLimitBucket = 'requests' | 'affected_rows';

/** One counter a call is checked against. */
export interface Limit {
  bucket: RateLimitBucket;
  scope: RateLimitScope;
  limit: number;
  windowSeconds: number;
}

/** The counters of one principal: the principal's first, so a refused principal never spends its tenant's. */
export interface PrincipalLimits {
  requests: Limit[];
  affectedRows: Limit[];
}

/** Raw SQL, on the pool or inside a write's transaction. */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
}

export interface RateLimiterOptions {
  limits: RateLimits;
  /** Where the counters live (the pool; a write's own transaction is passed to chargeWrite). */
  sql: Queryable;
  /** `"ormai"."ormai_rate_limit"` (ormaiTables().rateLimit). */
  table: string;
  /** How often expired counters are deleted, at most (default 5 minutes). */
  cleanupIntervalMs?: number;
  onCleanupError?: (error: unknown) => void;
}

export interface RateLimiter {
  readonly limitsWrites: boolean;
  limitsFor(principal: Principal): PrincipalLimits;
  /** Counts one request; returns the RATE_LIMITED error to answer with, or null when it is served. */
  admitRequest(principal: Principal): Promise<OrmaiError | null>;
  /** A write naming more rows than a window allows is refused before it runs (no SQL). */
  refuseRequestedRows(principal: Principal, requested: number): OrmaiError | null;
  /**
   * Counts a write's affected rows inside its transaction, so a write that rolls back was never
   * counted; throws RATE_LIMITED (rolling the write back) when they would pass a window's limit.
   * An approval decision is not counted (the write it runs is, against the approver).
   */
  chargeWrite(
    tx: Queryable,
    principal: Principal,
    facts: Pick<WriteAuditFacts, 'affectedRows' | 'decisions'>,
  ): Promise<void>;
  /** Waits for a cleanup still running. */
  close(): Promise<void>;
}

export const DEFAULT_CLEANUP_INTERVAL_MS = 5 * 60_000;

/** Refuses limits that are not positive whole numbers, and role overrides of roles the policy lacks. */
export function checkRateLimits(limits: RateLimits, knownRoles?: readonly string[]): void {
  const check = (path: string, value: unknown, count: 'requests' | 'affectedRows') => {
    if (value === undefined || value === null) return;
    const rule = value as Record<string, unknown>;
    for (const key of [count, 'windowSeconds']) {
      const n = rule[key];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
        throw new StartupError(
          'CONFIG_INVALID',
          `rateLimits.${path}.${key} must be a whole number of at least 1 (got ${JSON.stringify(n)})`,
          { hints: [`e.g. ${path}: { ${count}: 100, windowSeconds: 60 }`] },
        );
      }
    }
  };
  check('perTenant', limits.perTenant, 'requests');
  check('perPrincipal', limits.perPrincipal, 'requests');
  check('writes.perTenant', limits.writes?.perTenant, 'affectedRows');
  check('writes.perPrincipal', limits.writes?.perPrincipal, 'affectedRows');
  for (const [role, own] of Object.entries(limits.roles ?? {})) {
    if (knownRoles && !knownRoles.includes(role)) {
      throw new StartupError(
        'CONFIG_INVALID',
        `rateLimits.roles.${role} names no role of the policy`,
        {
          hints: [`roles: ${knownRoles.join(', ')}`],
        },
      );
    }
    check(`roles.${role}.perPrincipal`, own.perPrincipal, 'requests');
    check(`roles.${role}.writes.perPrincipal`, own.writes?.perPrincipal, 'affectedRows');
  }
}

/**
 * The limits of a principal: a role override replaces the per-principal default (the most
 * generous of the principal's roles, `null` meaning none); tenant limits need a tenant.
 */
export function principalLimits(limits: RateLimits, principal: Principal): PrincipalLimits {
  const own = <T extends RequestLimit | AffectedRowsLimit>(
    fallback: T | undefined,
    pick: (role: RoleRateLimits) => T | null | undefined,
    count: (rule: T) => number,
  ): T | undefined => {
    const overrides = principal.roles
      .map((role) => limits.roles?.[role])
      .filter((role): role is RoleRateLimits => !!role && pick(role) !== undefined)
      .map(pick);
    if (overrides.length === 0) return fallback;
    if (overrides.includes(null)) return undefined;
    return (overrides as T[]).reduce((best, rule) =>
      count(rule) / rule.windowSeconds > count(best) / best.windowSeconds ? rule : best,
    );
  };
  const perPrincipal = own(
    limits.perPrincipal,
    (role) => role.perPrincipal,
    (rule) => rule.requests,
  );
  const rowsPerPrincipal = own(
    limits.writes?.perPrincipal,
    (role) => role.writes?.perPrincipal,
    (rule) => rule.affectedRows,
  );
  const tenant = principal.tenantId !== null;
  const requests: Limit[] = [];
  if (perPrincipal) requests.push(requestLimit('principal', perPrincipal));
  if (tenant && limits.perTenant) requests.push(requestLimit('tenant', limits.perTenant));
  const affectedRows: Limit[] = [];
  if (rowsPerPrincipal) affectedRows.push(rowsLimit('principal', rowsPerPrincipal));
  if (tenant && limits.writes?.perTenant)
    affectedRows.push(rowsLimit('tenant', limits.writes.perTenant));
  return { requests, affectedRows };
}

const requestLimit = (scope: RateLimitScope, rule: RequestLimit): Limit => ({
  bucket: 'requests',
  scope,
  limit: rule.requests,
  windowSeconds: rule.windowSeconds,
});

const rowsLimit = (scope: RateLimitScope, rule: AffectedRowsLimit): Limit => ({
  bucket: 'affected_rows',
  scope,
  limit: rule.affectedRows,
  windowSeconds: rule.windowSeconds,
});

/** What a counter said: its state after this check. */
interface CounterRow {
  scope: RateLimitScope;
  used: number;
  last_refused: boolean;
  window_start: string;
  /** Seconds until the counter's window ends. */
  remaining: number;
}

/** The counter's key columns for a principal. */
function keyOf(limit: Limit, principal: Principal): unknown[] {
  const tenant = principal.tenantId === null ? '' : String(principal.tenantId);
  return [limit.bucket, limit.scope, tenant, limit.scope === 'tenant' ? '' : principal.sub];
}

/**
 * One statement checks and counts every limit: each counter is an upsert that starts a new fixed
 * window when the last one ended, and adds `n` only when that stays within the limit (the row lock
 * of ON CONFLICT DO UPDATE orders concurrent checks; nothing reads before it writes). A later
 * counter runs only when the earlier ones admitted the call. `last_refused` carries this check's
 * decision out through RETURNING.
 */
export function checkStatement(table: string, limits: Limit[]): string {
  const n = `$${limits.length * 6 + 1}::int`;
  const ctes = limits.map((_, i) => {
    const p = (k: number) => `$${i * 6 + k}`;
    const limit = `${p(6)}::int`;
    const expired =
      't.window_start + make_interval(secs => t.window_seconds) <= statement_timestamp()';
    const fits = `t.used + ${n} <= ${limit}`;
    const gate =
      i === 0 ? '' : ` WHERE NOT EXISTS (SELECT 1 FROM c${i - 1} WHERE c${i - 1}.last_refused)`;
    return `c${i} AS (
  INSERT INTO ${table} AS t (bucket, scope, tenant_id, sub, window_start, window_seconds, used, refused, last_refused)
  SELECT ${p(1)}::text, ${p(2)}::text, ${p(3)}::text, ${p(4)}::text, statement_timestamp(), ${p(5)}::int,
    CASE WHEN ${n} <= ${limit} THEN ${n} ELSE 0 END, CASE WHEN ${n} <= ${limit} THEN 0 ELSE 1 END, ${n} > ${limit}${gate}
  ON CONFLICT (bucket, scope, tenant_id, sub) DO UPDATE SET
    window_start = CASE WHEN ${expired} THEN EXCLUDED.window_start ELSE t.window_start END,
    window_seconds = CASE WHEN ${expired} THEN EXCLUDED.window_seconds ELSE t.window_seconds END,
    used = CASE WHEN ${expired} THEN EXCLUDED.used WHEN ${fits} THEN t.used + ${n} ELSE t.used END,
    refused = CASE WHEN ${expired} THEN EXCLUDED.refused WHEN ${fits} THEN t.refused ELSE t.refused + 1 END,
    last_refused = CASE WHEN ${expired} THEN EXCLUDED.last_refused ELSE NOT (${fits}) END
  RETURNING t.scope, t.used, t.last_refused, t.window_start::text AS window_start,
    extract(epoch FROM t.window_start + make_interval(secs => t.window_seconds) - statement_timestamp())::float8 AS remaining
)`;
  });
  const selects = limits.map(
    (_, i) => `SELECT scope, used, last_refused, window_start, remaining FROM c${i}`,
  );
  return `WITH ${ctes.join(',\n')}\n${selects.join('\nUNION ALL\n')}`;
}

const paramsOf = (limits: Limit[], principal: Principal, n: number): unknown[] => [
  ...limits.flatMap((limit) => [...keyOf(limit, principal), limit.windowSeconds, limit.limit]),
  n,
];

/** The counters a refusal names, and for how long. */
interface Refusal {
  limit: Limit;
  retryAfter: number;
  requested?: number;
}

/** RATE_LIMITED: retryable, HTTP 429 with Retry-After on GraphQL, `details.retryAfter` everywhere. */
export function rateLimitedError({ limit, retryAfter, requested }: Refusal): OrmaiError {
  const unit = `${limit.bucket === 'requests' ? 'request' : 'affected row'}${limit.limit === 1 ? '' : 's'}`;
  const who = limit.scope === 'tenant' ? 'your tenant' : 'you';
  const tooMany = requested !== undefined && requested > limit.limit;
  return new OrmaiError(
    'RATE_LIMITED',
    tooMany
      ? `this write names ${requested} rows, over the rate limit of ${limit.limit} affected rows per ${limit.windowSeconds} s for ${who}`
      : `rate limit reached: ${limit.limit} ${unit} per ${limit.windowSeconds} s for ${who}`,
    {
      retryable: true,
      hints: tooMany
        ? [
            `split it into writes of at most ${limit.limit} rows, one window (${limit.windowSeconds} s) apart`,
          ]
        : [`retry after ${retryAfter} s`],
      details: {
        retryAfter,
        limit: limit.limit,
        window: limit.windowSeconds,
        scope: limit.scope,
        kind: limit.bucket,
        ...(requested !== undefined ? { requested } : {}),
      },
      httpStatus: 429,
      httpHeaders: { 'retry-after': String(retryAfter) },
    },
  );
}

/** Counters in PostgreSQL (one row per tenant or principal and kind), shared by every replica. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { limits, sql, table } = options;
  const cleanupIntervalMs = options.cleanupIntervalMs ?? DEFAULT_CLEANUP_INTERVAL_MS;
  const statements = new Map<string, string>();
  const statementFor = (list: Limit[]) => {
    const key = list.map((limit) => `${limit.bucket}:${limit.scope}`).join(',');
    let text = statements.get(key);
    if (!text) {
      text = checkStatement(table, list);
      statements.set(key, text);
    }
    return text;
  };
  // limits depend on the roles only: computed once per set of roles
  const byRoles = new Map<string, PrincipalLimits>();
  const limitsFor = (principal: Principal) => {
    const key = `${principal.tenantId === null ? '-' : '+'}${principal.roles.join('\u0000')}`;
    let found = byRoles.get(key);
    if (!found) {
      found = principalLimits(limits, principal);
      byRoles.set(key, found);
    }
    return found;
  };
  const longestWindow = Math.max(
    1,
    ...[
      limits.perTenant,
      limits.perPrincipal,
      limits.writes?.perTenant,
      limits.writes?.perPrincipal,
      ...Object.values(limits.roles ?? {}).flatMap((role) => [
        role.perPrincipal,
        role.writes?.perPrincipal,
      ]),
    ].map((rule) => rule?.windowSeconds ?? 0),
  );

  const check = async (db: Queryable, list: Limit[], principal: Principal, n: number) => {
    const rows = await db.query<CounterRow>(statementFor(list), paramsOf(list, principal, n));
    const refused = rows.find((row) => row.last_refused);
    if (!refused) return { rows, refusal: null };
    const limit = list.find((candidate) => candidate.scope === refused.scope)!;
    return {
      rows,
      refusal: { limit, retryAfter: Math.max(1, Math.ceil(Number(refused.remaining))) },
    };
  };

  // expired counters are deleted now and then, by whichever replica comes first; a counter deleted
  // by mistake would only start its window anew, and the upsert recreates what it needs
  let nextCleanup = Date.now() + cleanupIntervalMs;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    if (cleaning || Date.now() < nextCleanup) return;
    nextCleanup = Date.now() + cleanupIntervalMs;
    cleaning = sql
      .query(
        `DELETE FROM ${table} WHERE window_start < statement_timestamp() - make_interval(secs => $1::int)
           AND window_start + make_interval(secs => window_seconds) < statement_timestamp()`,
        [longestWindow],
      )
      .then(
        () => {},
        (error) => options.onCleanupError?.(error),
      )
      .finally(() => {
        cleaning = undefined;
      });
  };

  return {
    limitsWrites: !!(
      limits.writes?.perTenant ||
      limits.writes?.perPrincipal ||
      Object.values(limits.roles ?? {}).some((role) => role.writes?.perPrincipal)
    ),
    limitsFor,
    async admitRequest(principal) {
      const list = limitsFor(principal).requests;
      if (list.length === 0) return null;
      const { rows, refusal } = await check(sql, list, principal, 1);
      cleanup();
      if (!refusal) return null;
      // the principal's counter admitted it before the tenant's refused it: it was not served, so
      // it is taken back (a refusal by the principal's own counter never reaches the tenant's)
      const admitted = rows.filter((row) => !row.last_refused);
      for (const row of admitted) {
        const limit = list.find((candidate) => candidate.scope === row.scope)!;
        await sql.query(
          `UPDATE ${table} SET used = used - 1
            WHERE bucket = $1 AND scope = $2 AND tenant_id = $3 AND sub = $4
              AND window_start = $5::timestamptz AND used > 0`,
          [...keyOf(limit, principal), row.window_start],
        );
      }
      return rateLimitedError(refusal);
    },
    refuseRequestedRows(principal, requested) {
      const over = limitsFor(principal).affectedRows.find((limit) => requested > limit.limit);
      return over
        ? rateLimitedError({ limit: over, retryAfter: over.windowSeconds, requested })
        : null;
    },
    async chargeWrite(tx, principal, facts) {
      const affectedRows = facts.decisions?.decision ? 0 : facts.affectedRows;
      const list = limitsFor(principal).affectedRows;
      if (list.length === 0 || affectedRows <= 0) return;
      // in the write's transaction: a refusal throws and rolls back the write and the count alike
      const { refusal } = await check(tx, list, principal, affectedRows);
      if (refusal) throw rateLimitedError({ ...refusal, requested: affectedRows });
    },
    async close() {
      await cleaning;
    },
  };
}
