"""Runs (layer 4): execute definitions at a point in time, diff, preview, explain, backfill and real time."""
