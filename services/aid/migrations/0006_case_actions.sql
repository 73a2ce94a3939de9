-- The required actions of aid cases in a table of their own (they were a jsonb list
-- [{action, due_at}] on aid_cases): each can be completed (when, by whom, a note), and one whose
-- due time passes while it is open is marked breached once (by the deadline scan, or by its
-- late completion).

CREATE TABLE case_actions (
    case_id           uuid NOT NULL REFERENCES aid_cases (case_id),
    action            text NOT NULL,
    position          smallint NOT NULL,          -- the order the case came to require them
    jurisdiction_path text NOT NULL,              -- the case's: moves with the household
    due_at            timestamptz NOT NULL,
    completed_at      timestamptz,
    completed_by      text NOT NULL DEFAULT '',
    note              text NOT NULL DEFAULT '' CHECK (char_length(note) <= 1000),
    breached          boolean NOT NULL DEFAULT false,
    case_resolved     boolean NOT NULL DEFAULT false,  -- set when the case is resolved
    PRIMARY KEY (case_id, action)
);
-- The deadline scan: only actions still open, unmarked and of an open case are indexed, so the
-- scan reads what is due and nothing else however many cases the years accumulate.
CREATE INDEX case_actions_open ON case_actions (due_at)
    WHERE completed_at IS NULL AND NOT breached AND NOT case_resolved;

ALTER TABLE case_actions ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_actions FORCE ROW LEVEL SECURITY;
CREATE POLICY case_actions_in_scope ON case_actions
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));

-- Copy the existing lists across. The tables' owner is under row-level security too (FORCE):
-- this transaction sees every jurisdiction.
SELECT set_config('cdsp.scope', '/%', true);
INSERT INTO case_actions (case_id, action, position, jurisdiction_path, due_at, case_resolved)
SELECT DISTINCT ON (c.case_id, a.item ->> 'action')
       c.case_id, a.item ->> 'action', a.n::smallint, c.jurisdiction_path,
       (a.item ->> 'due_at')::timestamptz, c.status <> 1
  FROM aid_cases c CROSS JOIN LATERAL jsonb_array_elements(c.actions) WITH ORDINALITY AS a(item, n)
 ORDER BY c.case_id, a.item ->> 'action', a.n;

ALTER TABLE aid_cases DROP COLUMN actions;
