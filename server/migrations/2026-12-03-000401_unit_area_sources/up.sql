-- Units keep every area they were given, per source, and the counted exclusive area is derived from them by
-- precedence (server/src/community/reconcile.rs): register files write only the slot of their line's source, the
-- housing registry its own columns with its `area_source` as given. So an import can no longer turn a
-- registry-confirmed area back into the file's contract area. Units the file no longer lists are retired
-- (they leave rolls and totals) instead of staying on every roll.
ALTER TABLE units
    ADD COLUMN register_area_centi_m2  bigint CHECK (register_area_centi_m2 > 0),
    ADD COLUMN surveyed_area_centi_m2  bigint CHECK (surveyed_area_centi_m2 > 0),
    ADD COLUMN contract_area_centi_m2  bigint CHECK (contract_area_centi_m2 > 0),
    ADD COLUMN registry_area_centi_m2  bigint CHECK (registry_area_centi_m2 > 0),
    -- The registry's own word for its area's source, stored as it gave it (NULL: it gave none).
    ADD COLUMN registry_area_source    text CHECK (length(registry_area_source) BETWEEN 1 AND 32),
    ADD COLUMN retired_at              timestamptz;

-- Areas the registry wrote before this migration (audited as unit.area.corrected): the latest one is the
-- registry's. Where the unit still shows it, the file's own value is not known any more (it comes with the next
-- import); where a later import overwrote it, the current value is the file's and the registry's counts again.
UPDATE units u
SET registry_area_centi_m2 = c.to_centi_m2
FROM (
    SELECT DISTINCT ON (subject) subject, (details ->> 'to_centi_m2')::bigint AS to_centi_m2
    FROM audit_log
    WHERE action = 'unit.area.corrected' AND (details ->> 'to_centi_m2') ~ '^[0-9]+$'
    ORDER BY subject, seq DESC
) c
WHERE c.subject = 'unit:' || u.id::text AND c.to_centi_m2 > 0;

UPDATE units SET register_area_centi_m2 = exclusive_area_centi_m2
    WHERE area_source = 'register'
      AND (registry_area_centi_m2 IS NULL OR registry_area_centi_m2 <> exclusive_area_centi_m2);
UPDATE units SET surveyed_area_centi_m2 = exclusive_area_centi_m2 WHERE area_source = 'surveyed';
UPDATE units SET contract_area_centi_m2 = exclusive_area_centi_m2 WHERE area_source = 'contract';
UPDATE units SET exclusive_area_centi_m2 = registry_area_centi_m2, area_source = 'register', updated_at = now()
    WHERE registry_area_centi_m2 IS NOT NULL
      AND (exclusive_area_centi_m2 <> registry_area_centi_m2 OR area_source <> 'register');

ALTER TABLE units ADD CONSTRAINT units_some_area_source CHECK (
    num_nonnulls(register_area_centi_m2, surveyed_area_centi_m2, contract_area_centi_m2, registry_area_centi_m2) > 0
);

-- What an import retired and reinstated, and how many area lines disagreed with a better source.
ALTER TABLE register_imports
    ADD COLUMN retired_units    integer NOT NULL DEFAULT 0,
    ADD COLUMN reinstated_units integer NOT NULL DEFAULT 0,
    ADD COLUMN area_conflicts   integer NOT NULL DEFAULT 0;
