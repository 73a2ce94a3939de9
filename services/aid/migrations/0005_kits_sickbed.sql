-- Emergency kits (暖心应急包) held by grid workers, and home sickbed visits for the seriously ill.
--
-- A kit item is filed under the path of the grid that holds it. The aid service has no table of
-- jurisdictions: the path comes from the caller's token (a grid worker's scope is the grid path)
-- or from the projected households of that grid (see aid.service.kits.resolve_grid).

CREATE TABLE kit_stock (
    grid_code           text NOT NULL,
    jurisdiction_path   text NOT NULL,          -- the grid's path, ending in /grid_code/
    item                text NOT NULL CHECK (item ~ '^[a-z_]{2,40}$'),
    lendable            boolean NOT NULL,       -- lent and returned (wheelchairs) or consumed
    total               integer NOT NULL CHECK (total >= 0),  -- held, lent ones included
    available           integer NOT NULL CHECK (available >= 0 AND available <= total),
    low_stock_threshold integer NOT NULL CHECK (low_stock_threshold >= 0),
    version             bigint NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (grid_code, item)
);
CREATE INDEX kit_stock_path ON kit_stock (jurisdiction_path text_pattern_ops, grid_code, item);

CREATE TABLE kit_loans (
    loan_id           uuid PRIMARY KEY,
    grid_code         text NOT NULL,
    item              text NOT NULL,
    person_id         uuid NOT NULL,
    jurisdiction_path text NOT NULL,            -- the grid's path: its workers take it back
    lent_at           timestamptz NOT NULL DEFAULT now(),
    lent_by           text NOT NULL,
    returned_at       timestamptz,
    returned_by       text,
    FOREIGN KEY (grid_code, item) REFERENCES kit_stock (grid_code, item)
);
CREATE INDEX kit_loans_person ON kit_loans (person_id);
CREATE INDEX kit_loans_open ON kit_loans (grid_code, item) WHERE returned_at IS NULL;

-- Every change of stock, append-only (its policies allow reading and inserting, nothing else).
CREATE TABLE kit_movements (
    movement_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grid_code         text NOT NULL,
    item              text NOT NULL,
    jurisdiction_path text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('replenish', 'lend', 'return', 'consume')),
    quantity          integer NOT NULL CHECK (quantity > 0),
    person_id         uuid,
    loan_id           uuid,
    actor             text NOT NULL,
    at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kit_movements_item ON kit_movements (grid_code, item, movement_id);

-- One row per seriously ill person once visited (or once the scan found them never visited).
CREATE TABLE sickbed_schedules (
    person_id           uuid PRIMARY KEY,
    jurisdiction_path   text NOT NULL,
    last_visit_at       timestamptz,            -- NULL: never visited
    next_due_at         timestamptz NOT NULL,
    overdue_notified_at timestamptz,            -- SickbedVisitOverdue sent; cleared by a visit
    version             bigint NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sickbed_schedules_due ON sickbed_schedules (next_due_at)
    WHERE overdue_notified_at IS NULL;
CREATE INDEX sickbed_schedules_path ON sickbed_schedules (jurisdiction_path text_pattern_ops);

-- Every visit, append-only.
CREATE TABLE sickbed_visits (
    visit_id          uuid PRIMARY KEY,
    person_id         uuid NOT NULL,
    jurisdiction_path text NOT NULL,
    visited_at        timestamptz NOT NULL,
    note              text NOT NULL DEFAULT '',
    recorded_by       text NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sickbed_visits_person ON sickbed_visits (person_id, visited_at);

ALTER TABLE kit_stock ENABLE ROW LEVEL SECURITY;
ALTER TABLE kit_stock FORCE ROW LEVEL SECURITY;
CREATE POLICY kit_stock_in_scope ON kit_stock
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE kit_loans ENABLE ROW LEVEL SECURITY;
ALTER TABLE kit_loans FORCE ROW LEVEL SECURITY;
CREATE POLICY kit_loans_in_scope ON kit_loans
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE kit_movements ENABLE ROW LEVEL SECURITY;
ALTER TABLE kit_movements FORCE ROW LEVEL SECURITY;
CREATE POLICY kit_movements_read ON kit_movements FOR SELECT
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
CREATE POLICY kit_movements_append ON kit_movements FOR INSERT
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE sickbed_schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE sickbed_schedules FORCE ROW LEVEL SECURITY;
CREATE POLICY sickbed_schedules_in_scope ON sickbed_schedules
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE sickbed_visits ENABLE ROW LEVEL SECURITY;
ALTER TABLE sickbed_visits FORCE ROW LEVEL SECURITY;
CREATE POLICY sickbed_visits_read ON sickbed_visits FOR SELECT
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
CREATE POLICY sickbed_visits_append ON sickbed_visits FOR INSERT
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
