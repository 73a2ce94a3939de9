-- Reminders the registry announces once each (issue 12).
--
-- A child registered without a certificate (allowed under 3) who has turned 3: CertificationDue,
-- once, when the daily scan finds them. The partial index holds only active uncertified persons
-- not yet announced, by birth date, so the scan reads nothing else.
ALTER TABLE persons ADD COLUMN certification_due_announced_at timestamptz;
CREATE INDEX persons_certification_due ON persons (birth_date)
    WHERE status = 1 AND NOT certified AND certification_due_announced_at IS NULL;

-- The monthly check: the local month (its 1st) whose VerificationDue, and whose
-- VerificationOverdue, has been dealt with for the person (announced, or not needed because
-- the record was verified since the 1st). A month's first scan round marks every active person;
-- later rounds read, through these partial indexes, only those not yet marked for the month
-- (never marked: NULL; marked for an earlier month: an earlier date).
ALTER TABLE persons ADD COLUMN verification_due_month date;
ALTER TABLE persons ADD COLUMN verification_overdue_month date;
CREATE INDEX persons_verification_due_month ON persons (verification_due_month)
    WHERE status = 1;
CREATE INDEX persons_verification_overdue_month ON persons (verification_overdue_month)
    WHERE status = 1;
