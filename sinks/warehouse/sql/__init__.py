"""Versioned DDL files, applied in order by sinks.warehouse.migrations."""
