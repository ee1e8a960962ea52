import type { CompiledPolicy } from '../../policy/compile-policy.js';
import type { Principal } from '../../policy/principal.js';

export interface TenantScopePluginOptions<Context> {
  policy: CompiledPolicy;
  /** Reads the request's principal from the context. */
  principal: (context: Context) => Principal | null;
}
