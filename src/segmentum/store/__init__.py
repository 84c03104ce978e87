"""Storage (layer 2): the DuckDB connection, every table definition, the catalog and the snapshots."""

from segmentum.store.connection import CATALOG, META, Store

__all__ = ["CATALOG", "META", "Store"]
