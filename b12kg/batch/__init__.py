"""Population assessment: many patients, on every core or on a Dask cluster.

One concern per module:

- ``sources``: what to assess (patient files, folders walked, Bulk Data NDJSON exports);
- ``ndjson``: a Bulk export's resources grouped by patient through an on-disk index;
- ``work``: one worker's job, a chunk of items in, one output record per item out;
- ``local``: worker processes on this machine, with the per-patient time budget;
- ``cluster``: the same work on a Dask distributed cluster;
- ``sink``: where records go (JSON Lines, written line-atomically; what a resume skips);
- ``run``: ties them together (input order, progress, counts).

Only ``run`` is imported by the command line, and it imports the rest lazily.
"""
