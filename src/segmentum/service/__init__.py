"""The `segmentum serve` process (layer 6): runtime, schedule, API keys, dashboard users, store ownership."""
