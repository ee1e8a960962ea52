import { quoteIdent } from './database.js';

/** ormai's own tables live in a PostgreSQL schema of their own, apart from the app's tables. */
export const DEFAULT_ORMAI_SCHEMA = 'ormai';

/** The qualified names of ormai's own tables in one schema, ready to splice into SQL. */
export interface OrmaiTables {
  schema: string;
  auditLog: string;
  approvalRequest: string;
  rateLimit: string;
  apiKey: string;
  migrations: string;
}

export function ormaiTables(schema: string = DEFAULT_ORMAI_SCHEMA): OrmaiTables {
  const qualified = (table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;
  return {
    schema,
    auditLog: qualified('ormai_audit_log'),
    approvalRequest: qualified('ormai_approval_request'),
    rateLimit: qualified('ormai_rate_limit'),
    apiKey: qualified('ormai_api_key'),
    migrations: qualified('_ormai_migrations'),
  };
}
