"""Engines (layer 3): where the compiled expression runs, DuckDB (the default) or Apache Spark."""
