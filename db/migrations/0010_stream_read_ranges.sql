-- A watch or sync stream's reads are audited as rows per reader, document and stream,
-- each naming the range of revisions the stream delivered (at its start, at least every
-- minute while it delivers, and at its end), rather than one row per change. The range
-- is part of the row's MAC.
ALTER TABLE audit_events ADD COLUMN revision_from bigint;
ALTER TABLE audit_events ADD COLUMN revision_to bigint;
