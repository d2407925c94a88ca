-- Least privilege for a ClickHouse server (`p06 warehouse grant`; embedded chDB has no users: there the
-- sink's API answers only the project's named queries, sinks/warehouse/queries.py).
--
-- No role below is granted READ/WRITE ON FILE, URL, S3, HDFS, REMOTE, MYSQL, POSTGRES... (ClickHouse
-- 25.x source grants, formerly FILE, URL, S3, REMOTE...) nor CREATE TEMPORARY TABLE, which every table
-- function needs: file(), url(), s3(), remote(), mysql(), postgresql()... are refused for every user
-- the project creates. Readers are read-only and cannot run DDL.

CREATE SETTINGS PROFILE OR REPLACE p06_writer SETTINGS readonly = 0, allow_ddl = 1, allow_introspection_functions = 0 CONST;
-- readonly = 2: no write and no DDL, but a client (clickhouse-connect, Grafana) may still set per-query settings.
CREATE SETTINGS PROFILE OR REPLACE p06_reader SETTINGS readonly = 2 CONST, allow_ddl = 0 CONST, allow_introspection_functions = 0 CONST;

CREATE ROLE IF NOT EXISTS p06_writer SETTINGS PROFILE 'p06_writer';
CREATE ROLE IF NOT EXISTS p06_reader SETTINGS PROFILE 'p06_reader';

-- The sink: its migrations (the database, tables, materialized views, scratch tables it empties), its
-- inserts, and the reads of its rollups and its own reconciliation. Nothing outside database p06.
REVOKE ALL ON *.* FROM p06_writer;
GRANT CREATE DATABASE ON p06.* TO p06_writer;
GRANT SELECT, INSERT, CREATE TABLE, CREATE VIEW, DROP TABLE, DROP VIEW, TRUNCATE, ALTER TABLE, ALTER VIEW ON p06.* TO p06_writer;

-- Reports, reconcile, history, Grafana: SELECT on p06 and nothing else.
REVOKE ALL ON *.* FROM p06_reader;
GRANT SELECT ON p06.* TO p06_reader;
