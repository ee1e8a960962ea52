import type { Plugin } from 'graphql-yoga';
import { runInScope } from '../data-access/index.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';
import type { Principal } from '../policy/principal.js';
import type { OrmaiContext } from '../schema/context.js';

/**
 * Executes every operation inside its principal's data scope, so each database call a resolver
 * makes (through the context's scoped client) carries that principal's row scope.
 */
export function dataScopePlugin(options: {
  datamodel: Datamodel;
  policyFor(principal: Principal): CompiledPolicy;
}): Plugin<OrmaiContext> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const principal = (args.contextValue as OrmaiContext).principal;
      if (!principal) return;
      const scope = {
        datamodel: options.datamodel,
        policy: options.policyFor(principal),
        principal,
      };
      setExecuteFn((executeArgs) => runInScope(scope, () => executeFn(executeArgs)));
    },
  };
}
