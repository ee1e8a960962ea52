import type { FieldNullability, InputFieldMap, SchemaTypes, TypeParam } from '@pothos/core';
import type { PothosRedactionPlugin } from './index.js';
import type { FieldByRole, Redaction, RedactionPluginOptions } from './types.js';

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      redaction: PothosRedactionPlugin<Types>;
    }

    export interface SchemaBuilderOptions<Types extends SchemaTypes> {
      redaction: RedactionPluginOptions;
    }

    export interface FieldOptions<
      Types extends SchemaTypes,
      ParentShape,
      Type extends TypeParam<Types>,
      Nullable extends FieldNullability<Type>,
      Args extends InputFieldMap,
      ResolveShape,
      ResolveReturnShape,
    > {
      /** Return the value masked or hashed, per the policy. */
      redaction?: Redaction | null;
      /**
       * Decide the value row by row: the principal's roles disagree on the field and see different
       * rows (src/policy/role-rules.ts). Takes the place of `redaction` when set.
       */
      redactionByRole?: FieldByRole | null;
    }
  }
}
