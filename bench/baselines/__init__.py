"""Baselines: the same work as a pipeline stage, done by the bare library (raw Kafka produce and consume,
validation alone, a Faust agent that only counts, raw chDB inserts), so each figure has its ceiling."""
