"""The sink's local HTTP API (Starlette under uvicorn):

- `sinks.web.api`: the routes (/health, /metrics, /query, /reports, login) and the server (`start`).
- `sinks.web.metrics`: /metrics, one prometheus_client registry per sink process (`sink_registry`).
- `sinks.web.auth_starlette`: the thin adapter to auth's one guard and login desk.
"""

__all__ = ["api", "auth_starlette", "metrics"]
