"""Read models (layer 5): every reading of the store that the CLI, the API, the dashboard and the report share.

One function per read, and every interface calls it (DESIGN.md section 3, principle 8):

- `views.segments`: the overview (every segment and segmentation of a run with size, share, revenue share),
  one segment's detail, and the check that a segment name exists;
- `views.history`: a segment's (or a segmentation's) size across runs;
- `views.members`: the members of a segment in a run with attributes and traits, paged, filtered by an
  expression of the definition language, and their export to CSV / Parquet / JSON;
- `views.customers`: a customer's 360 (attributes, traits, model outputs, segments now, history, tasks) and
  the customer search;
- `views.tasks`: the managers' task list;
- `views.models`: the per-customer outputs of fitted models (`segmentum.model_*`).

Runs are looked up through `segmentum.store.snapshots`; only complete runs are ever read, so a run or
micro-batch writing at the same time is never seen half done.
"""
