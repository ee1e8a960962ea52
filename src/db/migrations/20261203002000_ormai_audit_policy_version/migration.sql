-- Each audit record names the policy version the call ran under (a hash of the policy and the
-- datamodel) and the digest of its result (sha256 of the canonical JSON), so a recorded call can be
-- replayed and compared. Rows written before have neither: their hashes never covered them.
ALTER TABLE "ormai_audit_log" ADD COLUMN "policy_version" TEXT;
ALTER TABLE "ormai_audit_log" ADD COLUMN "result_digest" TEXT;
