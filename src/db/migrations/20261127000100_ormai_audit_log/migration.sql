-- ormai's audit log: append-only. The production role needs INSERT and SELECT on it, nothing else:
--   GRANT SELECT, INSERT ON "ormai_audit_log" TO app_role; GRANT USAGE ON SEQUENCE "ormai_audit_log_id_seq" TO app_role;
CREATE TABLE "ormai_audit_log" (
    "id" BIGSERIAL PRIMARY KEY,
    "ts" TIMESTAMPTZ NOT NULL,
    "trace_id" TEXT NOT NULL,
    "surface" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "model" TEXT,
    "principal_sub" TEXT,
    "tenant_id" TEXT,
    "roles" JSONB NOT NULL DEFAULT '[]',
    "inputs" JSONB,
    "decisions" JSONB,
    "row_count" INTEGER,
    "affected_rows" INTEGER,
    "duration_ms" DOUBLE PRECISION NOT NULL,
    "outcome" TEXT NOT NULL,
    "error_code" TEXT,
    "reason" TEXT,
    "before" JSONB,
    "after" JSONB,
    "approval_id" TEXT,
    "prev_hash" TEXT NOT NULL,
    "hash" TEXT NOT NULL
);

CREATE INDEX "ormai_audit_log_tenant_id_idx" ON "ormai_audit_log" ("tenant_id", "id");
CREATE INDEX "ormai_audit_log_trace_id_idx" ON "ormai_audit_log" ("trace_id");
