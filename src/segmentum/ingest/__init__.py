"""Ingest (layer 3): read files and databases into the canonical tables, quarantining what cannot be stored."""
