DROP INDEX ballot_sheets_caster;
