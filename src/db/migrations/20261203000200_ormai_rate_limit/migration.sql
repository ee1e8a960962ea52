-- ormai's rate-limit counters, shared by every replica: one row per counter (requests or affected
-- rows, of a tenant or of a principal), each a fixed window that starts with the first call after
-- the last one ended. Checked and counted by one INSERT ... ON CONFLICT DO UPDATE per call; rows
-- whose window ended are deleted now and then. UNLOGGED: a check writes no WAL, so its commit
-- waits for no disk flush; a database crash empties the table (every window starts anew), and
-- standbys do not have it. The production role needs
--   GRANT SELECT, INSERT, UPDATE, DELETE ON "ormai_rate_limit" TO app_role;
CREATE UNLOGGED TABLE "ormai_rate_limit" (
    "bucket" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "sub" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ NOT NULL,
    "window_seconds" INTEGER NOT NULL,
    "used" INTEGER NOT NULL,
    "refused" INTEGER NOT NULL DEFAULT 0,
    "last_refused" BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY ("bucket", "scope", "tenant_id", "sub")
);

-- bucket: 'requests' or 'affected_rows'; scope: 'tenant' or 'principal'; tenant_id: '' for a
-- principal without a tenant; sub: '' for a tenant's counter; used: served in the window;
-- refused: refused in the window; last_refused: the latest check's decision (read by RETURNING)
CREATE INDEX "ormai_rate_limit_window_start_idx" ON "ormai_rate_limit" ("window_start");
