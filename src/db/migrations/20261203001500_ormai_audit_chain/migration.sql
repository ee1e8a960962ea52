-- The audit log's chains: each writing process appends to chains of its own, named here, so
-- replicas never take turns on one chain. Rows written before have none: they form the one chain
-- of old. The index finds a chain's last record without reading the table.
ALTER TABLE "ormai_audit_log" ADD COLUMN "chain_id" TEXT;
CREATE INDEX "ormai_audit_log_chain_id_idx" ON "ormai_audit_log" ("chain_id", "id");
