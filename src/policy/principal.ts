/** Who is calling: taken from a verified JWT (or an app's resolvePrincipal hook). */
export interface Principal {
  /** The user id (JWT `sub`), a string as JWT requires. */
  sub: string;
  /** The tenant the caller belongs to; null when the token names none. */
  tenantId: string | number | null;
  roles: readonly string[];
  /** Every claim of the token, for row filters on custom claims. */
  claims: Readonly<Record<string, unknown>>;
}
