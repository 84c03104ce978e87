"""Models (layer 5): estimators fit on per-customer frames (CLV, churn risk, replenishment, clusters), their data preparation and persistence."""
