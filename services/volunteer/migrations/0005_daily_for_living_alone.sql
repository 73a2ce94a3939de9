-- Persons living alone are called or visited daily (plan 000), whatever their colour: a schedule
-- due later than a day from now is brought forward to a day from now (not to the past: nobody
-- is made overdue by this change). The service keeps it so from here on (CDSP_VOLUNTEER_ALONE_HOURS).
-- The tables' owner is under row-level security too (FORCE): this transaction sees everything.
SELECT set_config('cdsp.scope', '/%', true);
UPDATE persons SET next_due_at = now() + interval '24 hours'
    WHERE living_alone AND NOT archived AND colour > 0
      AND next_due_at > now() + interval '24 hours';
