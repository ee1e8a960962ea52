import { AsyncLocalStorage } from 'node:async_hooks';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { aroundModelOperations } from '../data-access/model-operations.js';
import { plannerSlot } from '../data-access/planner-budget.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import { budgetError } from '../schema/budget-rules.js';
import type { OrmaiContext } from '../schema/context.js';
import { isStatementTimeout } from './errors.js';

/** The statement timeout of the operation running now, when it is below the connection's. */
const active = new AsyncLocalStorage<number>();

interface TransactionClient {
  $transaction(queries: unknown[]): Promise<unknown[]>;
  $executeRawUnsafe(query: string): unknown;
}

/**
 * The role set's statement timeout, for a role set whose timeout is below the connection's (the
 * most generous of any role, set on every connection by runtime.ts). Each of the operation's
 * model reads runs in a transaction of its own that first says `SET LOCAL statement_timeout`, so
 * PostgreSQL itself cancels a statement over the role set's limit; role sets at the connection's
 * timeout pay nothing. Mutations run in their own interactive transactions and keep the
 * connection's timeout.
 */
export function statementTimeoutPlugin(options: {
  connectionTimeoutMs: number;
  policyFor(principal: Principal): CompiledPolicy;
}): Plugin<OrmaiContext> {
  return {
    onExecute({ args, setExecuteFn, executeFn }) {
      const principal = (args.contextValue as OrmaiContext).principal;
      if (!principal) return;
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return;
      const limit = options.policyFor(principal).budgets.statementTimeoutMs;
      if (limit >= options.connectionTimeoutMs) return;
      setExecuteFn((executeArgs) => active.run(limit, () => executeFn(executeArgs)));
    },
  };
}

/** A Prisma client whose model operations run under the active statement timeout, if any. */
export function statementTimeoutClient<Client extends object>(client: Client): Client {
  const base = client as unknown as TransactionClient;
  return aroundModelOperations(client, (_model, _operation, args, call) => {
    const limit = active.getStore();
    return limit === undefined ? call(args) : underTimeout(base, limit, () => call(args));
  });
}

/** `query` in a batch transaction that first says `SET LOCAL statement_timeout`. */
async function underTimeout(
  base: TransactionClient,
  limit: number,
  query: () => unknown,
): Promise<unknown> {
  try {
    // the batch runs in this context: the planner budget must be found here
    const [, result] = await plannerSlot(() =>
      base.$transaction([
        base.$executeRawUnsafe(`SET LOCAL statement_timeout = ${Math.floor(limit)}`),
        query(),
      ]),
    );
    return result;
  } catch (error) {
    // named with the role set's limit, not the connection's
    if (isStatementTimeout(error)) throw budgetError('statement_timeout', limit, limit + 1);
    throw error;
  }
}
