-- Who sees which rows of the tables that hold figures. Once a table has a row policy, a user with no
-- policy on it may see no row at all (users_without_row_policies_can_read_rows): the sink and the
-- readers get a policy that lets every row through, each province role one that lets its own through
-- (03_province.sql). {table} is each of sinks.warehouse.tables.FIGURE_TABLES (the tables with a province column).
CREATE ROW POLICY OR REPLACE p06_all ON p06.{table} AS PERMISSIVE FOR SELECT USING 1 TO p06_writer, p06_reader;
