"""Where a partition stands, as the worker keeps it with its state: the rules, without Kafka."""

from __future__ import annotations

from streams.positions import IDLE_S, RESEEK_S, Positions, Verdict


def test_records_at_or_below_the_position_apply_and_move_it_on() -> None:
    p = Positions()
    p.start(0, stored=10, earliest=0)
    assert p.admit(0, 10, now=0.0) is Verdict.APPLY and p.next[0] == 11
    assert p.admit(0, 4, now=0.0) is Verdict.APPLY and p.next[0] == 11  # read again: harmless, no move back
    assert p.admit(0, 11, now=0.0) is Verdict.APPLY and p.next[0] == 12


def test_a_gap_seeks_back_then_drops_until_the_awaited_record_comes() -> None:
    p = Positions()
    p.start(3, stored=100, earliest=0)
    assert p.admit(3, 140, now=0.0) is Verdict.SEEK and p.gaps == 1
    assert p.admit(3, 141, now=0.1) is Verdict.DROP  # fetched before the seek
    assert p.admit(3, 142, now=RESEEK_S + 0.1) is Verdict.SEEK  # still not there: seek again
    assert p.gaps == 1  # one gap, sought twice
    assert p.admit(3, 100, now=2.0) is Verdict.APPLY and p.next[3] == 101


def test_a_partition_never_written_starts_at_the_log_start() -> None:
    p = Positions()
    p.start(1, stored=None, earliest=57)
    assert p.admit(1, 90, now=0.0) is Verdict.SEEK
    assert p.next[1] == 57


def test_records_gone_from_the_log_are_not_waited_for() -> None:
    p = Positions()
    p.start(2, stored=5, earliest=0)
    assert p.admit(2, 50, now=0.0) is Verdict.SEEK
    p.skip_to(2, earliest=30)  # retention removed 5..29
    assert p.next[2] == 30 and p.admit(2, 30, now=0.1) is Verdict.APPLY


def test_a_log_past_the_position_with_nothing_arriving_is_idle() -> None:
    p = Positions()
    p.start(0, stored=20, earliest=0)
    assert not p.idle(0, highwater=20, now=100.0)  # caught up
    assert p.idle(0, highwater=35, now=100.0)  # 15 records exist that never came: start there
    assert p.gaps == 0 and not p.resumed(0)  # the first look after a (re)start is no gap
    assert not p.idle(0, highwater=35, now=100.0 + IDLE_S / 2)  # sought just now: give it time
    p.admit(0, 20, now=101.0)
    assert not p.idle(0, highwater=35, now=101.5)  # arriving
    assert p.idle(0, highwater=35, now=101.0 + IDLE_S) and p.gaps == 1  # stopped arriving: a gap
