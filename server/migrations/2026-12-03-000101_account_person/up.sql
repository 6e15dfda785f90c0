-- The person an account belongs to (issue 25, item 1): the blind index of the ID number its first device
-- certificate was bound for, set once. An enrollment with another ID number on this account is refused, so a
-- stolen session cannot enroll its thief on the victim's account (and roll keys).
ALTER TABLE accounts ADD COLUMN person_id_number_bidx text;

-- Accounts that already bound a device belong to the person of the earliest binding.
UPDATE accounts a
SET person_id_number_bidx = first.id_number_bidx
FROM (
    SELECT DISTINCT ON (d.account_id) d.account_id, e.id_number_bidx
    FROM device_certificates d
    JOIN enrollments e ON e.id = d.enrollment_id
    ORDER BY d.account_id, d.created_at, d.serial
) first
WHERE a.id = first.account_id;
