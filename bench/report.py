"""Chart and summary from the raw results: `python -m bench.report` -> bench/results/time_vs_scale.png, summary.md."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ORDER = ["sql", "segmentum", "pandas", "spark"]
LABELS = {
    "sql": "hand-written DuckDB SQL",
    "segmentum": "segmentum (DuckDB)",
    "pandas": "pandas",
    "spark": "segmentum (Spark, local)",
}


def load() -> dict[int, dict]:
    """Entries per customer count from every batch_*.json (later files win; runs under a --memory-limit are
    another table's, BENCHMARKS.md "Memory at scale")."""
    sizes: dict[int, dict] = {}
    for path in sorted(RESULTS.glob("batch_*.json"), key=lambda p: p.stat().st_mtime):
        data = json.loads(path.read_text())
        if data.get("memory_limit"):
            continue
        for entry in data["sizes"]:
            sizes[entry["customers"]] = entry | {"date": data["date"], "command": data["command"]}
    return dict(sorted(sizes.items()))


def table(sizes: dict[int, dict]) -> str:
    lines = [
        "| customers | orders | events | implementation | wall s (best) | × hand SQL (best) | "
        "× hand SQL (median of rounds) | peak RSS MB | outputs |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for n, entry in sizes.items():
        for impl in ORDER:
            figures = entry["impls"].get(impl)
            if not figures:
                continue
            check = "reference" if impl == "sql" else entry["check"].get(impl, "?")
            check = check if isinstance(check, str) else "DIFFERENT"
            seconds = f"{figures['seconds']:.2f}"
            if impl == "pandas":
                seconds += f" ({figures['compute_seconds']:.2f} compute)"
            lines.append(
                f"| {n:,} | {entry['rows']['orders']:,} | {entry['rows']['events']:,} | {LABELS[impl]} | "
                f"{seconds} | {figures['ratio_to_sql']:.2f} | {_fmt(figures.get('median_round_ratio'))} | "
                f"{figures['peak_rss_mb']:.0f} | {check} |"
            )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def chart(sizes: dict[int, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for impl in ORDER:
        points = [(n, e["impls"][impl]["seconds"]) for n, e in sizes.items() if impl in e["impls"]]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", label=LABELS[impl])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("customers (about 10 orders and 58 events each)")
    ax.set_ylabel("wall time, s (best of the repeats)")
    ax.set_title("Full run: rfm + abc + lifecycle + 20 traits + 10 segments")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    sizes = load()
    chart(sizes, RESULTS / "time_vs_scale.png")
    text = table(sizes)
    (RESULTS / "summary.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
