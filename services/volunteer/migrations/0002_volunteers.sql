-- Volunteers and the grids they serve. A volunteer is filed under the first grid they serve
-- (jurisdiction_path) for row-level security; grid_paths lists them all.

CREATE TABLE volunteers (
    volunteer_id      uuid PRIMARY KEY,
    name              text NOT NULL,
    kind              smallint NOT NULL CHECK (kind BETWEEN 1 AND 5),
    phone             text NOT NULL DEFAULT '',
    skills            text[] NOT NULL DEFAULT '{}',
    weekdays          smallint[] NOT NULL DEFAULT '{}',
    hours             text NOT NULL DEFAULT '',
    grid_paths        text[] NOT NULL CHECK (cardinality(grid_paths) > 0),
    jurisdiction_path text NOT NULL,
    team              text NOT NULL DEFAULT '',
    verified          boolean NOT NULL DEFAULT false,
    max_load          smallint NOT NULL CHECK (max_load > 0),
    load              smallint NOT NULL DEFAULT 0,
    service_minutes   bigint NOT NULL DEFAULT 0,
    registered_by     text NOT NULL,
    registered_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (load BETWEEN 0 AND max_load)   -- a volunteer is never paired beyond their bound
);
CREATE INDEX volunteers_path ON volunteers (jurisdiction_path text_pattern_ops);
CREATE INDEX volunteers_grids ON volunteers USING gin (grid_paths);

ALTER TABLE volunteers ENABLE ROW LEVEL SECURITY;
ALTER TABLE volunteers FORCE ROW LEVEL SECURITY;
CREATE POLICY volunteers_in_scope ON volunteers
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));
