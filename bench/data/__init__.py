"""Data: the events a run sends (`event_source`), what they must give (`expected`, from the independent
recount in sinks.checks.recount), and a year of national reporting written straight into chDB (`year`)."""
