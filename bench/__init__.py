"""`p06 bench`: how much load one machine carries, each figure beside its baseline from the same run."""
