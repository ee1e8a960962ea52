import {
  type FieldNode,
  getOperationAST,
  Kind,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../policy/principal.js';
import type { OrmaiContext } from '../schema/context.js';
import type { RateLimiter } from './rate-limit.js';

export interface RateLimitPluginOptions {
  limiter: RateLimiter;
  /** The request's principal (an internal caller's, or authenticated from the HTTP request). */
  principalFor(request: Request, serverContext: object): Promise<Principal>;
}

/**
 * Counts every GraphQL operation once, before it is parsed: `/graphql` requests and the MCP tool
 * calls the bridge runs through the gateway alike (one operation per call). A write naming more
 * rows than a window allows is refused before it runs; its affected rows are counted in its
 * transaction (the gateway's recordWrite).
 */
export function rateLimitPlugin(options: RateLimitPluginOptions): Plugin<OrmaiContext> {
  const { limiter } = options;
  return {
    async onParams({ request, context, setResult }) {
      let principal: Principal;
      try {
        principal = await options.principalFor(request, context as object);
      } catch {
        // not authenticated: answered 401 further on, and counted nowhere
        return;
      }
      const refusal = await limiter.admitRequest(principal);
      if (refusal) setResult({ errors: [refusal] });
    },
    onExecute({ args, setResultAndStopExecution }) {
      if (!limiter.limitsWrites) return;
      const principal = (args.contextValue as OrmaiContext).principal;
      const operation = getOperationAST(args.document, args.operationName);
      if (!principal || operation?.operation !== 'mutation') return;
      const requested = Math.max(
        0,
        ...rootFields(operation.selectionSet).map((field) =>
          idsRequested(field, args.variableValues ?? {}),
        ),
      );
      const refusal = limiter.refuseRequestedRows(principal, requested);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
  };
}

function rootFields(selectionSet: SelectionSetNode): FieldNode[] {
  return selectionSet.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD);
}

/** How many rows a bulk write names (its `ids`); other writes name one. */
function idsRequested(field: FieldNode, variables: Record<string, unknown>): number {
  const ids = field.arguments?.find((argument) => argument.name.value === 'ids')?.value;
  return ids ? listLength(ids, variables) : 1;
}

function listLength(value: ValueNode, variables: Record<string, unknown>): number {
  if (value.kind === Kind.LIST) return value.values.length;
  if (value.kind === Kind.VARIABLE) {
    const given = variables[value.name.value];
    return Array.isArray(given) ? given.length : 1;
  }
  // a single value is coerced to a list of one
  return 1;
}
