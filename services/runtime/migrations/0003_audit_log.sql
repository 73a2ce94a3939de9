-- Every call that reads or changes personal data (runtime.roles marks them) leaves a row here,
-- written before the response leaves the service (runtime.audit). Append-only for the serving
-- role: its policies let it insert and read, and delete only rows older than the 6 months MLPS
-- 2.0 level 3 asks audit logs be kept (the retention job, CDSP_AUDIT_RETENTION_DAYS); no policy
-- lets it update. A migration step with two roles (runtime.migrate_cli) also revokes UPDATE and
-- TRUNCATE from the serving role.
CREATE TABLE audit_log (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                 timestamptz NOT NULL DEFAULT clock_timestamp(),
    method             text NOT NULL,
    subject            text NOT NULL,
    role               text NOT NULL,
    issuer             text NOT NULL DEFAULT '',
    token_id           text NOT NULL DEFAULT '',
    request_id         text NOT NULL,
    outcome            text NOT NULL,
    records            text[] NOT NULL DEFAULT '{}',
    filter             jsonb NOT NULL DEFAULT '{}',
    row_count          integer NOT NULL DEFAULT 0,
    break_glass_reason text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_subject ON audit_log (subject, at);
CREATE INDEX audit_log_records ON audit_log USING gin (records);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT USING (true);
CREATE POLICY audit_log_append ON audit_log FOR INSERT WITH CHECK (true);
CREATE POLICY audit_log_expire ON audit_log FOR DELETE
    USING (at < now() - interval '183 days');
