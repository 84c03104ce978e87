"""Side-by-side benchmarks of segmentum against hand-written DuckDB SQL, pandas, Spark and model libraries."""
