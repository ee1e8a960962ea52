/** The text of a statement Prisma sends through the driver adapter. */
interface SentQuery {
  sql: string;
}

/** Statement texts named at most: Prisma's own statement cache held 100 per connection. */
export const NAMED_STATEMENTS_LIMIT = 100;

/**
 * Names for the statements Prisma sends through adapter-pg, so that a connection parses and plans
 * a statement once and then only binds and executes it: node-postgres prepares a named statement
 * the first time a connection sends it. Planning was over a millisecond of PostgreSQL's time for a
 * list with two levels of relations, as much as executing it.
 *
 * Prisma's statements are parameterised, one text per query shape. A text is named the second time
 * it is sent (a shape asked once is not worth a prepared statement on every connection), and only
 * the first `limit` such texts are: later ones go unnamed, so neither this map nor any
 * connection's prepared statements grow without bound. Texts seen once are remembered up to ten
 * times that many, then forgotten together.
 */
export function statementNames(
  limit = NAMED_STATEMENTS_LIMIT,
): (query: SentQuery) => string | undefined {
  const names = new Map<string, string>();
  const seenOnce = new Set<string>();
  return ({ sql }) => {
    const name = names.get(sql);
    if (name !== undefined || names.size >= limit) return name;
    if (!seenOnce.has(sql)) {
      if (seenOnce.size >= limit * 10) seenOnce.clear();
      seenOnce.add(sql);
      return undefined;
    }
    seenOnce.delete(sql);
    const named = `ormai_${names.size.toString(36)}`;
    names.set(sql, named);
    return named;
  };
}

/**
 * Whether statements may be prepared on the server's connections: not behind PgBouncer in
 * transaction mode (named by `pgbouncer=true` in the URL, as Prisma's own engines read it), where a
 * statement prepared on one server connection is missing on the next.
 */
export function preparesStatements(url: URL): boolean {
  return url.searchParams.get('pgbouncer') !== 'true';
}
