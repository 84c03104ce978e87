"""segmentum.progress: the one estimate of the time left, and the callback library code reports through."""

from __future__ import annotations

from segmentum.progress import BYTES, Estimate, duration, notify


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_estimate_goes_at_the_pace_so_far() -> None:
    clock = FakeClock()
    estimate = Estimate(clock)
    assert estimate.remaining(0, 10) is None  # nothing done: no pace yet
    clock.now += 30
    assert estimate.elapsed() == 30
    assert estimate.remaining(3, 10) == 70  # 10 s a unit, 7 units left
    assert estimate.remaining(10, 10) == 0
    assert estimate.remaining(5, None) is None  # an unknown total has no estimate
    estimate.restart()
    assert estimate.elapsed() == 0


def test_durations_read_as_clock_times() -> None:
    assert duration(None) == "?"
    assert duration(4.4) == "0:04"
    assert duration(125) == "2:05"
    assert duration(3723) == "1:02:03"


def test_notify_calls_the_callback_when_there_is_one() -> None:
    calls: list[tuple[int, int | None, str, str]] = []
    notify(None, 1, 2, "nothing to call")
    notify(lambda d, t, label, unit="": calls.append((d, t, label, unit)), 5, 9, "reading x.csv", BYTES)
    assert calls == [(5, 9, "reading x.csv", "bytes")]


def test_laps_time_each_step_from_the_end_of_the_one_before() -> None:
    import time

    from segmentum.progress import Laps

    timings: dict[str, float] = {"earlier": 1.0}
    lap = Laps(timings)
    time.sleep(0.2)
    lap("first")
    lap("second")  # right after: nothing of the first step's sleep
    time.sleep(0.2)
    lap.restart()  # what came between is not a step
    lap("third")
    assert lap.timings is timings and list(timings) == ["earlier", "first", "second", "third"]
    assert timings["first"] >= 0.2
    assert timings["second"] < 0.2 and timings["third"] < 0.2
