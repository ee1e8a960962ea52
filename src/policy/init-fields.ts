import type { DatamodelField, DatamodelModel } from './datamodel.js';
import { DEFAULT_DENY_GLOBS } from './defaults.js';
import { matchesAnyGlob, toSnakeCase } from './globs.js';

/**
 * Words that name personal data (`ormai init` masks such fields for every role but admin). Each is a
 * whole word of the field or column name, so `zip` is no `ip` and `emailVerified` is no email.
 */
const PII_WORDS = new Set([
  'email',
  'emails',
  'phone',
  'telephone',
  'mobile',
  'ssn',
  'address',
  'birth',
  'birthday',
  'birthdate',
  'dob',
  'ip',
]);

/** Also personal data when the name is one word: `emailAddress`, `phoneNumber` written lowercase. */
const PII_COMPOUNDS = ['email', 'phone', 'address', 'birthdate', 'birthday'];

/** A name ending in one of these describes the data, not the data itself: `emailVerified`, `phoneCount`. */
const METADATA_SUFFIXES = new Set(['id', 'ids', 'at', 'count', 'verified', 'enabled', 'type']);

/**
 * Secret-like words the default deny globs leave out because, as globs, they would catch ordinary
 * fields (`*pin*` catches `shipping`). `ormai init` denies a field named with one as a whole word.
 */
const SECRET_WORDS = new Set(['salt', 'pin', 'passcode', 'cvv', 'cvc', 'mnemonic']);
const SECRET_KEY_QUALIFIERS = new Set(['access', 'master', 'session', 'license', 'client']);

/** The words of a name: `ipAddress` and `ip_address` → `['ip', 'address']`. */
export function words(name: string): string[] {
  return toSnakeCase(name)
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** The field's words, from its name and from its column name (`@map("phone_number")`). */
function fieldWords(field: DatamodelField): string[][] {
  return [words(field.name), ...(field.dbName ? [words(field.dbName)] : [])];
}

/** Whether a scalar field holds personal data, judged by its name: masked for non-admin roles. */
export function isPersonalData(field: DatamodelField, model: DatamodelModel): boolean {
  if (field.kind !== 'scalar' || field.type === 'Boolean' || field.isId) return false;
  // a foreign key (`addressId`) joins rows; masking it would hide the join, not personal data
  if (model.fields.some((other) => other.relationFromFields?.includes(field.name))) return false;
  return fieldWords(field).some((parts) => {
    if (METADATA_SUFFIXES.has(parts.at(-1) ?? '')) return false;
    return parts.some(
      (part) => PII_WORDS.has(part) || PII_COMPOUNDS.some((compound) => part.endsWith(compound)),
    );
  });
}

/**
 * Whether a field looks like a secret that the default deny globs do not already deny: a secret
 * word, or a column name the globs would catch under a field name they do not (`@map("pin_hash")`).
 */
export function isUncoveredSecret(field: DatamodelField): boolean {
  if (field.kind === 'object' || isDeniedByDefault(field)) return false;
  if (field.dbName && matchesAnyGlob(field.dbName, DEFAULT_DENY_GLOBS)) return true;
  return fieldWords(field).some(
    (parts) =>
      parts.some((part) => SECRET_WORDS.has(part)) ||
      (parts.at(-1) === 'key' && SECRET_KEY_QUALIFIERS.has(parts.at(-2) ?? '')),
  );
}

/** Denied to every role by `DEFAULT_DENY_GLOBS`. */
export function isDeniedByDefault(field: DatamodelField): boolean {
  return matchesAnyGlob(field.name, DEFAULT_DENY_GLOBS);
}
