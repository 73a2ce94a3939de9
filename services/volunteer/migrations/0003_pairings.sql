-- "1+1+N" pairings: a person and the volunteers who look after them, in one of three roles
-- (1 the community worker who is responsible, 2 the volunteer who visits, 3 a neighbour). An
-- ended pairing stays, with who ended it and why: the history. A pairing is filed under the
-- person's jurisdiction for row-level security.

CREATE TABLE pairings (
    pairing_id        uuid PRIMARY KEY,
    person_id         uuid NOT NULL REFERENCES persons,
    volunteer_id      uuid NOT NULL REFERENCES volunteers,
    role              smallint NOT NULL CHECK (role BETWEEN 1 AND 3),
    jurisdiction_path text NOT NULL,
    started_at        timestamptz NOT NULL DEFAULT now(),
    started_by        text NOT NULL,
    ended_at          timestamptz,
    end_reason        text NOT NULL DEFAULT '',
    ended_by          text NOT NULL DEFAULT '',
    CHECK ((ended_at IS NULL) = (end_reason = ''))   -- an ended pairing always says why
);
-- One active pairing of a person with a volunteer, and at most one active community worker and
-- one active volunteer per person (neighbours: any number).
CREATE UNIQUE INDEX pairings_active_pair ON pairings (person_id, volunteer_id)
    WHERE ended_at IS NULL;
CREATE UNIQUE INDEX pairings_active_role ON pairings (person_id, role)
    WHERE ended_at IS NULL AND role IN (1, 2);
CREATE INDEX pairings_person ON pairings (person_id, started_at);
CREATE INDEX pairings_volunteer ON pairings (volunteer_id, started_at);
CREATE INDEX pairings_path ON pairings (jurisdiction_path text_pattern_ops);

ALTER TABLE pairings ENABLE ROW LEVEL SECURITY;
ALTER TABLE pairings FORCE ROW LEVEL SECURITY;
CREATE POLICY pairings_in_scope ON pairings
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));
