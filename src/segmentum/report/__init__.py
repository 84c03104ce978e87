"""The offline HTML report: one self-contained file with charts (Plotly's JavaScript inlined)."""

from segmentum.report.build import build_report, write_report

__all__ = ["build_report", "write_report"]
