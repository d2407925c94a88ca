-- One role per province ({province}: its two-digit code): SELECT on the figure tables only, and a row
-- policy that keeps it to the rows of that province (its own events, its wards', its rollups; never the
-- nation, urban or rural rows, whose province is empty). {table} as in 02_row_policies.sql.
CREATE ROLE IF NOT EXISTS p06_province_{province} SETTINGS PROFILE 'p06_reader';
GRANT SELECT ON p06.{table} TO p06_province_{province};
CREATE ROW POLICY OR REPLACE p06_province_{province} ON p06.{table} AS PERMISSIVE FOR SELECT USING province = '{province}' TO p06_province_{province};
