"""Read models (layer 5) shared by the CLI, the API, the dashboard and the report."""
