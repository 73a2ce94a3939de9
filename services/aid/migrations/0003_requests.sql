-- The service loop of the 30-minute response: urgent requests, their team, arrival, escalation
-- to the association meeting and result, with the two deadlines and whether each was breached.

CREATE TABLE service_requests (
    request_id        uuid PRIMARY KEY,
    person_id         uuid NOT NULL REFERENCES persons (person_id),
    jurisdiction_path text NOT NULL,        -- the person's, when the request was submitted
    description       text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 1000),
    -- 1 submitted, 2 dispatched, 3 on site, 4 escalated, 5 resolved
    status            smallint NOT NULL DEFAULT 1 CHECK (status BETWEEN 1 AND 5),
    team              text NOT NULL DEFAULT '',
    submitted_online  boolean NOT NULL,
    submitted_by      text NOT NULL,
    submitted_at      timestamptz NOT NULL,
    arrival_due_at    timestamptz NOT NULL,  -- submitted_at + the arrival SLA (30 minutes)
    dispatched_at     timestamptz,
    arrived_at        timestamptz,
    escalated_at      timestamptz,
    escalation_reason text NOT NULL DEFAULT '',
    meeting_due_at    timestamptz,           -- escalated_at + the meeting SLA (24 hours)
    resolved_at       timestamptz,
    result            text NOT NULL DEFAULT '',
    arrival_breached  boolean NOT NULL DEFAULT false,
    meeting_breached  boolean NOT NULL DEFAULT false,
    version           bigint NOT NULL DEFAULT 1,
    CHECK (status < 5 OR char_length(result) > 0),
    CHECK ((escalated_at IS NULL) = (meeting_due_at IS NULL))
);
-- The deadline scans: only open deadlines not yet marked are indexed, so the scan reads what is
-- due and nothing else however many requests the years accumulate.
CREATE INDEX service_requests_arrival_open ON service_requests (arrival_due_at)
    WHERE arrived_at IS NULL AND NOT arrival_breached;
CREATE INDEX service_requests_meeting_open ON service_requests (meeting_due_at)
    WHERE escalated_at IS NOT NULL AND resolved_at IS NULL AND NOT meeting_breached;
-- Compliance per jurisdiction subtree and period.
CREATE INDEX service_requests_path ON service_requests
    (jurisdiction_path text_pattern_ops, submitted_at);
CREATE INDEX service_requests_person ON service_requests (person_id);

ALTER TABLE service_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE service_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY service_requests_in_scope ON service_requests
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
