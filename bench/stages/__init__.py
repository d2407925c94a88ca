"""Stages: the pipeline's own commands (`p06 publish`, `worker`, `sink`) started as a user would, each
measured on the same events as its baseline. `env` is what every stage gets (topics, folders, accounts)."""
