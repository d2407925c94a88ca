"""ClickHouse users, roles, profiles and row policies for a server DSN (sinks/warehouse/access.py)."""
