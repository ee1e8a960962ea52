import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type {
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlQuery,
  SqlQueryable,
  Transaction,
} from '@prisma/driver-adapter-utils';
import { tracer } from './tracing.js';

const TRACED = Symbol('ormai.traced-sql');

/**
 * The Prisma driver adapter with a `db.query` span around each statement it runs. A statement gets
 * a span only under a recording span (a request being traced): with tracing off the check is one
 * context lookup, and SQL outside any request (start-up) opens no traces of its own.
 */
export function tracedSqlAdapter(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  // a second client over the same adapter must not nest each statement's span in another
  const marked = factory as SqlDriverAdapterFactory & { [TRACED]?: true };
  if (marked[TRACED]) return factory;
  marked[TRACED] = true;
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter: SqlDriverAdapter = await connect();
    traceQueries(adapter);
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (...args) => traceQueries(await startTransaction(...args));
    return adapter;
  };
  return factory;
}

function traceQueries<T extends SqlQueryable | Transaction>(queryable: T): T {
  const queryRaw = queryable.queryRaw.bind(queryable);
  const executeRaw = queryable.executeRaw.bind(queryable);
  queryable.queryRaw = (query) =>
    traced(
      query,
      queryable,
      () => queryRaw(query),
      (result) => result.rows.length,
    );
  queryable.executeRaw = (query) =>
    traced(
      query,
      queryable,
      () => executeRaw(query),
      (affected) => affected,
    );
  return queryable;
}

async function traced<T>(
  query: SqlQuery,
  queryable: SqlQueryable,
  run: () => Promise<T>,
  rows: (result: T) => number,
): Promise<T> {
  const active = context.active();
  if (!trace.getSpan(active)?.isRecording()) return run();
  const span = tracer.startSpan(
    'db.query',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': queryable.provider === 'postgres' ? 'postgresql' : queryable.provider,
        // Prisma's SQL carries placeholders ($1), never the values
        'db.query.text': query.sql,
        'db.operation.name': /^\s*(\w+)/.exec(query.sql)?.[1]?.toUpperCase() ?? 'SQL',
      },
    },
    active,
  );
  try {
    const result = await context.with(trace.setSpan(active, span), run);
    span.setAttribute('db.response.returned_rows', rows(result));
    return result;
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}
