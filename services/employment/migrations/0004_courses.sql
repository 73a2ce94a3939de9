-- Training courses, their enrolments (seats and the waiting list) and attendance.
--
-- The seat and waiting-list counts of a course are kept by a trigger on enrolments, in the same
-- transaction as the change, and CHECK (seats_taken <= capacity) makes an over-full course
-- impossible whatever the code does; enrolling locks the course row first, so concurrent
-- enrolments are serialised per course. Waiting-list positions are 1..waiting, unique per course
-- (checked at commit, so a list can be renumbered in one statement).
--
-- A course is filed under the jurisdiction that runs it and is for that jurisdiction's
-- residents: a caller sees (and may enrol into) the courses of their jurisdictions and of the
-- jurisdictions above them; creating one needs the course's jurisdiction in the caller's scope.
-- Enrolments and attendance are filed under the person's jurisdiction.

CREATE TABLE courses (
    course_id         uuid PRIMARY KEY,
    title             text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100),
    jurisdiction_path text NOT NULL,
    capacity          integer NOT NULL CHECK (capacity BETWEEN 1 AND 500),
    class_hours       integer NOT NULL CHECK (class_hours BETWEEN 1 AND 1000),
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    schedule          text NOT NULL DEFAULT '' CHECK (char_length(schedule) <= 200),
    track             smallint NOT NULL DEFAULT 0 CHECK (track BETWEEN 0 AND 4),
    seats_taken       integer NOT NULL DEFAULT 0,   -- enrolments enrolled or completed
    waiting           integer NOT NULL DEFAULT 0,   -- enrolments on the waiting list
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (seats_taken BETWEEN 0 AND capacity),
    CHECK (waiting >= 0),
    CHECK (starts_at < ends_at)
);
CREATE INDEX courses_path ON courses (jurisdiction_path text_pattern_ops);

-- status: 1 enrolled, 2 waitlisted, 3 withdrawn, 4 completed (EnrolmentStatus)
CREATE TABLE enrolments (
    enrolment_id      uuid PRIMARY KEY,
    course_id         uuid NOT NULL REFERENCES courses,
    person_id         uuid NOT NULL REFERENCES candidates,
    jurisdiction_path text NOT NULL,
    status            smallint NOT NULL CHECK (status BETWEEN 1 AND 4),
    waitlist_position integer CHECK (waitlist_position > 0),
    hours_attended    integer NOT NULL DEFAULT 0 CHECK (hours_attended >= 0),
    enrolled_at       timestamptz NOT NULL DEFAULT now(),
    seated_at         timestamptz,                   -- when the seat was given
    withdrawn_at      timestamptz,
    completed_at      timestamptz,
    enrolled_by       text NOT NULL,
    version           bigint NOT NULL DEFAULT 1,
    CHECK ((status = 2) = (waitlist_position IS NOT NULL)),
    CHECK ((status = 4) = (completed_at IS NOT NULL)),
    CHECK (status NOT IN (1, 4) OR seated_at IS NOT NULL),
    CONSTRAINT enrolments_position_unique UNIQUE (course_id, waitlist_position)
        DEFERRABLE INITIALLY DEFERRED
);
-- One enrolment per person and course, unless withdrawn (a withdrawn person may enrol again).
CREATE UNIQUE INDEX enrolments_once ON enrolments (course_id, person_id)
    WHERE status IN (1, 2, 4);
CREATE INDEX enrolments_course ON enrolments (course_id, status, waitlist_position);
CREATE INDEX enrolments_person ON enrolments (person_id);
CREATE INDEX enrolments_path ON enrolments (jurisdiction_path text_pattern_ops, completed_at);

CREATE TABLE course_attendance (
    enrolment_id      uuid NOT NULL REFERENCES enrolments,
    session_date      date NOT NULL,
    hours             smallint NOT NULL CHECK (hours BETWEEN 1 AND 12),
    jurisdiction_path text NOT NULL,
    recorded_by       text NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (enrolment_id, session_date)
);

CREATE FUNCTION enrolments_count_seats() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    seats integer := 0;
    queued integer := 0;
    course uuid;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.course_id <> OLD.course_id THEN
        RAISE EXCEPTION 'an enrolment cannot move to another course';
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        seats := seats - (OLD.status IN (1, 4))::int;
        queued := queued - (OLD.status = 2)::int;
        course := OLD.course_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        seats := seats + (NEW.status IN (1, 4))::int;
        queued := queued + (NEW.status = 2)::int;
        course := NEW.course_id;
    END IF;
    IF seats <> 0 OR queued <> 0 THEN
        UPDATE courses SET seats_taken = seats_taken + seats, waiting = waiting + queued
            WHERE course_id = course;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'course % of enrolment is not visible: its counts cannot be kept',
                course;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER enrolments_count_seats AFTER INSERT OR UPDATE OR DELETE ON enrolments
    FOR EACH ROW EXECUTE FUNCTION enrolments_count_seats();

ALTER TABLE courses ENABLE ROW LEVEL SECURITY;
ALTER TABLE courses FORCE ROW LEVEL SECURITY;
-- Visible: a course of the caller's jurisdictions, or of one above them (for their residents).
CREATE POLICY courses_visible ON courses FOR SELECT
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns())
           OR EXISTS (SELECT 1 FROM unnest(cdsp_scope_patterns()) AS s(pattern)
                      WHERE starts_with(s.pattern, jurisdiction_path)));
-- Enrolling changes a visible course's counts (through the trigger), and locks it.
CREATE POLICY courses_counted ON courses FOR UPDATE
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns())
           OR EXISTS (SELECT 1 FROM unnest(cdsp_scope_patterns()) AS s(pattern)
                      WHERE starts_with(s.pattern, jurisdiction_path)));
CREATE POLICY courses_created ON courses FOR INSERT
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));

ALTER TABLE enrolments ENABLE ROW LEVEL SECURITY;
ALTER TABLE enrolments FORCE ROW LEVEL SECURITY;
CREATE POLICY enrolments_in_scope ON enrolments
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE course_attendance ENABLE ROW LEVEL SECURITY;
ALTER TABLE course_attendance FORCE ROW LEVEL SECURITY;
CREATE POLICY course_attendance_in_scope ON course_attendance
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
