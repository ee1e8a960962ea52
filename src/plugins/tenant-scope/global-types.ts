import type { SchemaTypes } from '@pothos/core';
import type { PothosTenantScopePlugin } from './index.js';
import type { TenantScopePluginOptions } from './types.js';

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      tenantScope: PothosTenantScopePlugin<Types>;
    }

    export interface SchemaBuilderOptions<Types extends SchemaTypes> {
      tenantScope: TenantScopePluginOptions<Types['Context']>;
    }
  }
}
