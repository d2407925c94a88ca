"""aiokafka's privates, each touched here only.

- The consumer's fetch wait is read from `_fetch_max_wait_ms` when `start()` builds the fetcher: the
  only way to shorten it on a consumer built by someone else (Faust hard-codes 1,500 ms).
- `partitions_for_topic` answers from cached metadata, refreshed every `metadata_max_age_ms` (5 min):
  a topic made seconds ago stays unknown unless the client is asked to look again.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer

# aiokafka leaves a partition whose records are still buffered out of the next fetch, and that fetch
# then waits up to the whole fetch wait when the other partitions are quiet: at 5,000 events/s
# messages waited 1.4 s (p50) before the worker saw them with 1,500 ms, 0.3 s with 100 ms.
FETCH_MAX_WAIT_MS = 100


def set_fetch_max_wait(consumer: AIOKafkaConsumer, wait_ms: int) -> None:
    """The fetch wait of a consumer not started yet (`start()` hands it to the fetcher)."""
    consumer._fetch_max_wait_ms = wait_ms


async def refresh_metadata(consumer: AIOKafkaConsumer) -> None:
    """Ask the broker for the cluster's metadata now (one metadata request), and wait for it."""
    await consumer._client.force_metadata_update()
