-- ormai's API keys for service agents: `ormai_sk_<id>_<secret>`. Only the SHA-256 of a key is kept
-- (key_hash, hex); the key itself is printed once by `ormai api-key create`. Each key is one
-- principal (sub, tenant_id as a JSON number or string, roles as a JSON array), may expire, and is
-- revoked by setting revoked_at (the row stays: `ormai api-key list` is also a record). The
-- production role reads it on every request with a key, and the CLI writes it:
--   GRANT SELECT ON "ormai_api_key" TO app_role;
CREATE TABLE "ormai_api_key" (
    "id" TEXT PRIMARY KEY,
    "name" TEXT,
    "key_hash" TEXT NOT NULL,
    "sub" TEXT NOT NULL,
    "tenant_id" JSONB,
    "roles" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "expires_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ
);
