import type { SchemaTypes } from '@pothos/core';
import type { PothosBuildStatePlugin } from './index.js';

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      buildState: PothosBuildStatePlugin<Types>;
    }
  }
}
