"""The stall rule: work that waits and moves nothing for the set time is stalled."""

from __future__ import annotations

from streams.stall import StallWatch


def test_a_recovery_that_reads_nothing_is_stalled_after_the_set_time() -> None:
    watch = StallWatch(stall_after_s=30)
    assert not watch.stalled(True, (("changelog", 2, -1),), now=0)
    assert not watch.stalled(True, (("changelog", 2, -1),), now=29)
    assert watch.stalled(True, (("changelog", 2, -1),), now=30)


def test_progress_or_the_end_of_recovery_restarts_the_clock() -> None:
    watch = StallWatch(stall_after_s=30)
    watch.stalled(True, (("changelog", 2, 10),), now=0)
    assert not watch.stalled(True, (("changelog", 2, 11),), now=25)  # read one more record
    assert not watch.stalled(True, (("changelog", 2, 11),), now=50)
    assert watch.stalled(True, (("changelog", 2, 11),), now=55)
    assert not watch.stalled(False, (("changelog", 2, 11),), now=60)  # recovery ended
    assert not watch.stalled(True, (("changelog", 2, 11),), now=70)  # a new recovery: a new clock
    assert not watch.stalled(True, (("changelog", 2, 11),), now=99)
