"""Does the warehouse agree with the events? Three checks, one module each:

- `sinks.checks.audit`: the sink's own reconciliation on a schedule (recent days every few minutes, the
  whole archive less often), its verdict on /health and /metrics (`Audit`).
- `sinks.checks.reconcile`: `p06 reconcile`, every figure recounted from the raw archive and compared with
  the rollups, the latest state per entity and the live figures (`reconcile`).
- `sinks.checks.recount`: the independent recount from the contract's words (the tests' and the benchmark's
  oracle); it imports none of the counting code, so importing it pulls in nothing else of the sink.

Import the submodule you need (no eager imports here, for that last reason).
"""

__all__ = ["audit", "reconcile", "recount"]
