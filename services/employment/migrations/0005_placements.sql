-- Placements in posts, their follow-up visits, start-up grants and workshop sales. Every row is
-- filed under the person's jurisdiction (a sale: the workshop's), like the rest of the service.

CREATE TABLE placements (
    placement_id        uuid PRIMARY KEY,
    person_id           uuid NOT NULL REFERENCES candidates,
    post_id             uuid NOT NULL REFERENCES posts,
    employer_id         uuid REFERENCES employers,
    jurisdiction_path   text NOT NULL,               -- the person's, when placed
    status              smallint NOT NULL DEFAULT 1 CHECK (status IN (1, 2)),  -- active, ended
    full_time           boolean NOT NULL,
    start_date          date NOT NULL,                -- local dates; end_date is the last day
    end_date            date,
    end_reason          text NOT NULL DEFAULT '',
    monthly_subsidy_fen bigint NOT NULL DEFAULT 0 CHECK (monthly_subsidy_fen >= 0),
    next_follow_up_due  timestamptz,                  -- NULL once ended
    last_follow_up_at   timestamptz,
    due_notified        boolean NOT NULL DEFAULT false,  -- FollowUpDue sent for this due date
    overdue_notified    boolean NOT NULL DEFAULT false,  -- FollowUpOverdue sent for it
    placed_by           text NOT NULL,
    placed_at           timestamptz NOT NULL DEFAULT now(),
    version             bigint NOT NULL DEFAULT 1,
    CHECK ((status = 2) = (end_date IS NOT NULL)),
    CHECK (end_date IS NULL OR end_date >= start_date),
    CHECK (status = 2 OR next_follow_up_due IS NOT NULL)
);
-- At most one active full-time placement per person, whatever the concurrency.
CREATE UNIQUE INDEX placements_one_full_time ON placements (person_id)
    WHERE status = 1 AND full_time;
CREATE INDEX placements_person ON placements (person_id, start_date);
CREATE INDEX placements_path ON placements (jurisdiction_path text_pattern_ops, start_date);
CREATE INDEX placements_employer ON placements (employer_id, start_date)
    WHERE employer_id IS NOT NULL;
-- The follow-up scans read only what is still to be announced.
CREATE INDEX placements_due_open ON placements (next_follow_up_due)
    WHERE status = 1 AND NOT due_notified;
CREATE INDEX placements_overdue_open ON placements (next_follow_up_due)
    WHERE status = 1 AND NOT overdue_notified;

CREATE TABLE follow_ups (
    follow_up_id      uuid PRIMARY KEY,
    placement_id      uuid NOT NULL REFERENCES placements,
    person_id         uuid NOT NULL,
    jurisdiction_path text NOT NULL,
    visited_at        timestamptz NOT NULL,
    monthly_wage_fen  bigint NOT NULL CHECK (monthly_wage_fen >= 0),
    adaptation        text NOT NULL,
    rights_issues     text NOT NULL DEFAULT '',        -- empty: none found
    recorded_by       text NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX follow_ups_placement ON follow_ups (placement_id, visited_at);

-- A start-up grant is one-off: one per person.
CREATE TABLE startup_grants (
    grant_id          uuid PRIMARY KEY,
    person_id         uuid NOT NULL UNIQUE REFERENCES candidates,
    jurisdiction_path text NOT NULL,
    amount_fen        bigint NOT NULL CHECK (amount_fen > 0),
    business          text NOT NULL,
    awarded_by        text NOT NULL,
    awarded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX startup_grants_path ON startup_grants (jurisdiction_path text_pattern_ops, awarded_at);

CREATE TABLE workshop_sales (
    sale_id           uuid PRIMARY KEY,
    workshop          text NOT NULL,
    jurisdiction_path text NOT NULL,
    amount_fen        bigint NOT NULL CHECK (amount_fen > 0),
    sold_on           date NOT NULL,
    goods             text NOT NULL DEFAULT '',
    recorded_by       text NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workshop_sales_path ON workshop_sales (jurisdiction_path text_pattern_ops, sold_on);

ALTER TABLE placements ENABLE ROW LEVEL SECURITY;
ALTER TABLE placements FORCE ROW LEVEL SECURITY;
CREATE POLICY placements_in_scope ON placements
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE follow_ups ENABLE ROW LEVEL SECURITY;
ALTER TABLE follow_ups FORCE ROW LEVEL SECURITY;
CREATE POLICY follow_ups_in_scope ON follow_ups
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE startup_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE startup_grants FORCE ROW LEVEL SECURITY;
CREATE POLICY startup_grants_in_scope ON startup_grants
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE workshop_sales ENABLE ROW LEVEL SECURITY;
ALTER TABLE workshop_sales FORCE ROW LEVEL SECURITY;
CREATE POLICY workshop_sales_in_scope ON workshop_sales
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
