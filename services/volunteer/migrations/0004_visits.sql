-- Visits logged by a person's paired volunteers (in person or by phone), with what they found
-- and the needs to follow up, filed under the person's jurisdiction. One volunteer's visits
-- never overlap in time: LogVisit locks the volunteer's row and looks for an overlapping visit
-- before inserting (an exclusion constraint would need btree_gist, which the service's role
-- may not be allowed to create); visits_volunteer_time serves that look-up.

CREATE TABLE visits (
    visit_id          uuid PRIMARY KEY,
    person_id         uuid NOT NULL REFERENCES persons,
    volunteer_id      uuid NOT NULL REFERENCES volunteers,
    jurisdiction_path text NOT NULL,          -- the person's
    colour            smallint NOT NULL,      -- the person's risk colour when it was logged
    by_phone          boolean NOT NULL DEFAULT false,
    visited_at        timestamptz NOT NULL,
    duration_minutes  smallint NOT NULL CHECK (duration_minutes BETWEEN 1 AND 480),
    ends_at           timestamptz NOT NULL,
    health            text NOT NULL DEFAULT '',
    needs             text NOT NULL DEFAULT '',
    safety            text NOT NULL DEFAULT '',
    safety_concern    boolean NOT NULL DEFAULT false,
    follow_up_needs   text[] NOT NULL DEFAULT '{}' CHECK (cardinality(follow_up_needs) <= 10),
    logged_by         text NOT NULL,
    logged_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at = visited_at + make_interval(mins => duration_minutes))
);
CREATE INDEX visits_volunteer_time ON visits (volunteer_id, visited_at);
CREATE INDEX visits_person ON visits (person_id, visited_at DESC);
CREATE INDEX visits_path ON visits (jurisdiction_path text_pattern_ops, visited_at);

ALTER TABLE visits ENABLE ROW LEVEL SECURITY;
ALTER TABLE visits FORCE ROW LEVEL SECURITY;
CREATE POLICY visits_in_scope ON visits
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));

-- The missed-visit scan reads only schedules that fell due and were not yet announced: a row
-- leaves this index as soon as its miss is marked (missed_due_at = next_due_at), so a scan
-- never walks past the persons who are still overdue from earlier scans. Its predicate says
-- `colour <> 0` (the same as colour > 0: colours are 0-3), and so does the scan: persons_due
-- (colour > 0) cannot serve the scan then, and the planner, which cannot tell from statistics
-- how few overdue rows are unannounced, never picks it over this one.
CREATE INDEX persons_unannounced ON persons (next_due_at)
    WHERE colour <> 0 AND NOT archived AND next_due_at IS NOT NULL
      AND missed_due_at IS DISTINCT FROM next_due_at;
