"""`p06 bench`: how much load one machine carries, each figure beside its baseline from the same run.

`runner` runs it; `baselines/` the bare libraries, `stages/` the pipeline's commands, `data/` the events
and their recount, `cluster` the broker and topics of a run, `scoreboard` the figures, their table and
the results document (`bench/results/`, not shipped in the wheel).
"""
