"""The real-time benchmark's per-minute account of the cores (`_CoresSampler`), sampling a real process that
spins one core and sleeps on another thread: it reads the scheduler's own figures for the process and for its
main thread apart. Behaviour only: the bounds are wide, no figure of this machine is asserted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `bench` is a top-level package of the repository, not of the installed wheel
    sys.path.insert(0, str(REPO))

from bench.realtime import _CoresSampler, _schedstat  # noqa: E402

# the main thread sleeps; a second thread spins (at most one core: the GIL)
SPINNER = """
import threading, time
def spin():
    end = time.monotonic() + 30
    while time.monotonic() < end:
        pass
threading.Thread(target=spin, daemon=True).start()
time.sleep(30)
"""


def test_sampler_tells_a_process_cores_from_its_main_thread_s() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SPINNER])
    try:
        time.sleep(0.3)
        sampler = _CoresSampler(proc.pid)
        sampler.start()
        time.sleep(3.5)
        sampler.stop()
        ran, waited = _schedstat(proc.pid)
    finally:
        proc.kill()
        proc.wait(10)
    minute = sampler.by_minute()
    assert len(sampler.samples) >= 2
    # the spinning thread's core is the process's; the sleeping main thread (the server's event loop) uses none
    assert minute["server_cores"][0] > 0.3
    assert minute["loop_cores"][0] < 0.1
    # the machine's busy cores include the spinner's, and never exceed the machine's
    assert 0.3 < minute["machine_busy_cores"][0] <= os.cpu_count() + 0.1
    assert minute["server_wait_ms_per_s"][0] >= 0
    assert ran > 0.3 and waited >= 0
