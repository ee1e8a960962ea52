import type { Plugin } from 'graphql-yoga';
import type { RawReader } from '../db/direct-reads.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import { answerOperation, operationPlan } from '../schema/compiled-read.js';
import type { OrmaiContext } from '../schema/context.js';
import type { NamingOptions } from '../schema/naming.js';

/**
 * Answers a query the data-access point can read in one statement (compiled-read.ts) without the
 * executor; every other operation, and any request the fast path declines, runs as before. It sits
 * before the data-scope plugin, which wraps it: the statement runs in the principal's scope, and
 * under the role set's planner budget (json-read.ts plans it first; a refusal falls back to the
 * executor, which words it). A role set with a statement timeout below the connection's keeps the
 * executor, whose Prisma calls each run in a transaction that sets it.
 */
export function compiledReadPlugin(options: {
  policyFor(principal: Principal): CompiledPolicy;
  naming?: NamingOptions;
  /** Role sets whose statement timeout is below this keep the executor. */
  connectionTimeoutMs: number;
  /** What runs the statement: the runtime's driver adapter where it has one, else the client. */
  reader: RawReader;
}): Plugin<OrmaiContext> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const context = args.contextValue as OrmaiContext;
      if (!context.principal) return;
      const policy = options.policyFor(context.principal);
      if (policy.budgets.statementTimeoutMs < options.connectionTimeoutMs) return;
      const plan = operationPlan(
        args.schema,
        policy,
        options.naming,
        args.document,
        args.operationName,
      );
      if (!plan) return;
      setExecuteFn(
        async (executeArgs) =>
          (await answerOperation(
            plan,
            executeArgs.variableValues as Record<string, unknown> | undefined,
            executeArgs.contextValue as OrmaiContext,
            options.reader,
          )) ?? executeFn(executeArgs),
      );
    },
  };
}
