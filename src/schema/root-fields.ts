import type { CompiledPolicy } from '../policy/compile-policy.js';
import { modelNames, type NamingOptions } from './naming.js';

/** Which model (or view) each root field of a role's schema reads: `orders` → Order. */
export function rootFieldModels(
  policy: CompiledPolicy,
  naming?: NamingOptions,
): Map<string, string> {
  const map = new Map<string, string>();
  for (const name of [...policy.models.keys(), ...policy.views.keys()]) {
    const { single, list } = modelNames(name, naming);
    for (const field of [single, list, `${list}Aggregate`, `${list}GroupBy`]) map.set(field, name);
  }
  return map;
}
