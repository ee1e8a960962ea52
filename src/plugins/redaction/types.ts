import type { Datamodel } from '../../policy/datamodel.js';
import type { Redaction } from '../../policy/redaction.js';
import type { FieldByRole } from '../../policy/role-rules.js';

export interface RedactionPluginOptions {
  /** Keys the HMAC of hashed fields (the compiled policy's `hashKey`). */
  hashKey: string;
  /** Binds the role filters of fields decided row by row (`$principal.sub` typed per field). */
  datamodel: Datamodel;
}

export type { FieldByRole, Redaction };
