import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type Surface = 'graphql' | 'mcp';
export type Outcome = 'ok' | 'error';

/** What the gauges read when scraped (nothing is sampled between scrapes). */
export interface MetricsSources {
  /** Records waiting per audit sink, and whether each sink writes. */
  auditQueues?: () => { sink: string; pending: number; healthy: boolean }[];
  /** Calls refused without a record because an audit queue was full. */
  auditRefusedUnrecorded?: () => number;
  /** Schemas built and kept, one per set of roles served. */
  schemaCacheSize?: () => number;
  /** The PostgreSQL connection pool ormai opened, if any. */
  pool?: () => { totalCount: number; idleCount: number; waitingCount: number } | undefined;
}

export interface OrmaiMetricsOptions {
  /** Also export the process's CPU, memory, event loop and GC metrics, prefixed `ormai_` (default true). */
  processMetrics?: boolean;
  /** Distinct operation names kept per surface; later ones are counted as `other` (default 100). */
  maxOperations?: number;
}

export const DEFAULT_MAX_OPERATIONS = 100;
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const NAME = /^[A-Za-z_][\w.-]{0,63}$/;
const CODE = /^[A-Z][A-Z_]{0,47}$/;
/** Labels ormai gives itself (an operation's type when it has no name): never capped. */
const OWN_OPERATION_LABELS = new Set(['query', 'mutation', 'subscription', 'unknown', 'invalid']);

/**
 * ormai's Prometheus metrics, in a registry of its own: an app embedding ormai keeps its default
 * registry to itself (and can merge this one into it). Counting a request is a few map lookups;
 * the gauges are read when scraped.
 */
export class OrmaiMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'surface' | 'operation' | 'outcome' | 'code'>;
  readonly #duration: Histogram<'surface' | 'outcome'>;
  readonly #budgetRefusals: Counter<'budget'>;
  readonly #responses: Counter<'endpoint' | 'status'>;
  readonly #operations: Record<Surface, Set<string>> = { graphql: new Set(), mcp: new Set() };
  readonly #maxOperations: number;

  constructor(sources: MetricsSources = {}, options: OrmaiMetricsOptions = {}) {
    const registers = [this.registry];
    this.#maxOperations = options.maxOperations ?? DEFAULT_MAX_OPERATIONS;
    this.#requests = new Counter({
      name: 'ormai_requests_total',
      help: 'GraphQL operations and MCP tool calls, by surface, operation, outcome and error code',
      labelNames: ['surface', 'operation', 'outcome', 'code'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'ormai_request_duration_seconds',
      help: 'Time to answer a GraphQL operation or an MCP tool call',
      labelNames: ['surface', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#budgetRefusals = new Counter({
      name: 'ormai_budget_refusals_total',
      help: 'Requests refused with QUERY_BUDGET_EXCEEDED, by the budget they exceeded',
      labelNames: ['budget'],
      registers,
    });
    this.#responses = new Counter({
      name: 'ormai_http_responses_total',
      help: 'HTTP responses by endpoint and status (refused calls included)',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    const { auditQueues, auditRefusedUnrecorded, schemaCacheSize, pool } = sources;
    if (auditQueues) {
      new Gauge({
        name: 'ormai_audit_queue_depth',
        help: 'Audit records accepted and not yet written, per sink',
        labelNames: ['sink'],
        registers,
        collect() {
          for (const queue of auditQueues()) this.set({ sink: queue.sink }, queue.pending);
        },
      });
      new Gauge({
        name: 'ormai_audit_sink_up',
        help: '1 while an audit sink writes, 0 while it fails (calls are refused meanwhile)',
        labelNames: ['sink'],
        registers,
        collect() {
          for (const queue of auditQueues()) this.set({ sink: queue.sink }, queue.healthy ? 1 : 0);
        },
      });
    }
    if (auditRefusedUnrecorded) {
      new Counter({
        name: 'ormai_audit_unrecorded_refusals_total',
        help: 'Calls refused without an audit record because an audit queue was full',
        registers,
        collect() {
          // the audit log counts; the counter mirrors it when scraped
          this.reset();
          this.inc(auditRefusedUnrecorded());
        },
      });
    }
    if (schemaCacheSize) {
      new Gauge({
        name: 'ormai_schema_cache_size',
        help: 'GraphQL schemas built and cached, one per set of roles served',
        registers,
        collect() {
          this.set(schemaCacheSize());
        },
      });
    }
    if (pool?.()) {
      const poolGauge = (name: string, help: string, read: (p: PoolStats) => number) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            const stats = pool();
            if (stats) this.set(read(stats));
          },
        });
      poolGauge('ormai_db_pool_connections', 'Connections open in the pool', (p) => p.totalCount);
      poolGauge('ormai_db_pool_idle_connections', 'Pool connections idle', (p) => p.idleCount);
      poolGauge(
        'ormai_db_pool_waiting_requests',
        'Queries waiting for a pool connection',
        (p) => p.waitingCount,
      );
    }
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'ormai_' });
    }
  }

  /** One GraphQL operation or MCP tool call answered. */
  request(
    surface: Surface,
    operation: string,
    outcome: Outcome,
    code: string | undefined,
    seconds: number,
  ): void {
    this.#requests.inc({
      surface,
      operation: this.#operationLabel(surface, operation),
      outcome,
      code: code === undefined ? 'none' : CODE.test(code) ? code : 'INTERNAL_ERROR',
    });
    this.#duration.observe({ surface, outcome }, seconds);
  }

  /** A QUERY_BUDGET_EXCEEDED refusal naming its budget. */
  budgetRefusal(budget: unknown): void {
    this.#budgetRefusals.inc({
      budget: typeof budget === 'string' && NAME.test(budget) ? budget : 'other',
    });
  }

  /** An HTTP response of one of ormai's endpoints. */
  httpResponse(endpoint: string, status: number): void {
    this.#responses.inc({ endpoint, status: String(status) });
  }

  /** The text Prometheus scrapes. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // operation names come from clients: the first ones are kept, the rest share `other`, so a client
  // sending a new name per request cannot grow the series without bound
  #operationLabel(surface: Surface, name: string): string {
    const known = this.#operations[surface];
    if (known.has(name) || (surface === 'graphql' && OWN_OPERATION_LABELS.has(name))) return name;
    if (known.size >= this.#maxOperations || !NAME.test(name)) return 'other';
    known.add(name);
    return name;
  }
}

type PoolStats = NonNullable<ReturnType<NonNullable<MetricsSources['pool']>>>;
