-- ormai's approval queue: writes that wait for a human. A request runs at most once (row lock + status).
CREATE TABLE "ormai_approval_request" (
    "id" TEXT PRIMARY KEY,
    "operation" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "request_data" JSONB NOT NULL,
    "principal" JSONB NOT NULL,
    "tenant" TEXT,
    "reason" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "decided_at" TIMESTAMPTZ,
    "decided_by" TEXT,
    "result" JSONB,
    "expires_at" TIMESTAMPTZ NOT NULL
);

CREATE INDEX "ormai_approval_request_tenant_status_idx" ON "ormai_approval_request" ("tenant", "status", "created_at");
