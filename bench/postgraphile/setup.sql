-- Applied by `npm run bench` to its own databases only (ormai_bench*), never to the app's schema.
-- PostGraphile reads as the role below; row-level security scopes every table to the tenant of the
-- JWT (pgSettings `jwt.claims.tenant_id`, set per transaction) and hides soft-deleted rows, which is
-- what ormai's policy does for the agent role. ormai and the hand-written endpoint connect as the
-- superuser, which bypasses RLS, so they are not affected.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ormai_bench_postgraphile') THEN
    CREATE ROLE ormai_bench_postgraphile NOLOGIN;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO ormai_bench_postgraphile;
GRANT SELECT ON "Order", "OrderItem", "Product", "Customer" TO ormai_bench_postgraphile;

CREATE OR REPLACE FUNCTION bench_tenant_id() RETURNS int
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('jwt.claims.tenant_id', true), '')::int $$;

ALTER TABLE "Order" ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS bench_tenant ON "Order";
CREATE POLICY bench_tenant ON "Order" FOR SELECT TO ormai_bench_postgraphile
  USING ("tenantId" = bench_tenant_id() AND "deletedAt" IS NULL);

ALTER TABLE "Customer" ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS bench_tenant ON "Customer";
CREATE POLICY bench_tenant ON "Customer" FOR SELECT TO ormai_bench_postgraphile
  USING ("tenantId" = bench_tenant_id() AND "deletedAt" IS NULL);

ALTER TABLE "OrderItem" ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS bench_tenant ON "OrderItem";
CREATE POLICY bench_tenant ON "OrderItem" FOR SELECT TO ormai_bench_postgraphile
  USING ("tenantId" = bench_tenant_id());

ALTER TABLE "Product" ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS bench_tenant ON "Product";
CREATE POLICY bench_tenant ON "Product" FOR SELECT TO ormai_bench_postgraphile
  USING ("tenantId" = bench_tenant_id());

-- The agent's redaction: email and phone are masked as ormai's maskValue does (CONTRACT §7), as
-- computed columns; the raw columns (and ssn, which the agent may not read) leave the schema.
CREATE OR REPLACE FUNCTION bench_mask(value text) RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $$
    SELECT CASE
      WHEN value IS NULL THEN NULL
      WHEN position('@' IN value) > 1 AND position('@' IN value) = length(value) - position('@' IN reverse(value)) + 1
        THEN left(value, 1) || '***' || substr(value, position('@' IN value))
      WHEN regexp_replace(value, '[+\- ]', '', 'g') ~ '^\d+$' AND length(regexp_replace(value, '[+\- ]', '', 'g')) > 10
        THEN left(value, 2) || repeat('*', length(value) - 5) || right(value, 3)
      WHEN length(value) <= 2 THEN repeat('*', length(value))
      ELSE left(value, 1) || repeat('*', length(value) - 2) || right(value, 1)
    END
  $$;
CREATE OR REPLACE FUNCTION "Customer_maskedEmail"(c "Customer") RETURNS text
  LANGUAGE sql STABLE
  AS $$ SELECT bench_mask(c.email) $$;
CREATE OR REPLACE FUNCTION "Customer_maskedPhone"(c "Customer") RETURNS text
  LANGUAGE sql STABLE
  AS $$ SELECT bench_mask(c.phone) $$;
COMMENT ON COLUMN "Customer".email IS E'@behavior -*';
COMMENT ON COLUMN "Customer".phone IS E'@behavior -*';
COMMENT ON COLUMN "Customer".ssn IS E'@behavior -*';
COMMENT ON COLUMN "Product"."costCents" IS E'@behavior -*';
