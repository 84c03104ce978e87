"""Compile (layer 3): definitions to one Ibis expression per run, and `rules.py`, the home of the domain rules."""
