"""Live counting: the Faust worker (streams.worker), the locality state it keeps (streams.state), and
the live view's read side (streams.view).

`streams.worker.create_app` builds the Faust app (imported on demand: Faust is heavy to import).
"""

from .state import LocalityState, Outcome

__all__ = ["LocalityState", "Outcome"]
