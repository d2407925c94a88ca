"""Versioned DDL files, applied in order by sinks.migrations."""
