import type { Redaction } from '../../policy/redaction.js';

export interface RedactionPluginOptions {
  /** Salt for hashed fields. */
  hashSalt: string;
}

export type { Redaction };
