-- Issue 12: the sink's memory. A horizontal merge holds a buffer for every column of the parts it
-- merges at once: on the two wide tables the sink writes on every batch (archive, 27 columns; counted,
-- 36) that took 112-144 MB of the sink's peak RSS on a year's archive. A vertical merge handles one
-- column at a time (about 29 MB), at no measurable cost to the write per batch (2026-11-28, a chDB
-- rig on the national year: 492-496 MB peak with this and JE_MALLOC_CONF, against 639-650).
-- A table setting: applying it again changes nothing.
ALTER TABLE p06.archive MODIFY SETTING vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1;

ALTER TABLE p06.counted MODIFY SETTING vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1
