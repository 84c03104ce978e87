"""CLI start-up: `python -m bench.cli [--repeats N]`.

Times `segmentum --help` (whole process, as a user waits for it) side by side with a bare interpreter and with a
Typer app of one command, so a noisy machine shows up in all three. DESIGN section 8: under 0.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "one-command Typer app --help": [
        sys.executable,
        "-c",
        "import typer\napp = typer.Typer()\n@app.command()\ndef hello() -> None: pass\napp(['--help'])",
    ],
    "segmentum --help": [sys.executable, "-m", "segmentum.cli.main", "--help"],
    "segmentum run --help": [sys.executable, "-m", "segmentum.cli.main", "run", "--help"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    seconds: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeats):  # interleaved, so that a busy moment hits every case alike
        for name, command in CASES.items():
            mark = time.perf_counter()
            subprocess.run(command, capture_output=True, check=False)
            seconds[name].append(time.perf_counter() - mark)
    base = statistics.median(seconds["one-command Typer app --help"])
    print(f"{'case':32} {'median s':>9} {'best s':>7} {'x Typer app':>12}")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"{name:32} {median:9.3f} {min(values):7.3f} {median / base:12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
