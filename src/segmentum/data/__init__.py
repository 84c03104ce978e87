"""Data: the canonical schema, readers, ingest with quarantine, the demo generator."""
