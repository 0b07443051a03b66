-- Sign-offs and presence for co-editing.

-- Every sign-off (a person may sign off several revisions over time).
CREATE TABLE sign_offs (
  document_key bigint NOT NULL REFERENCES documents (key),
  person_id    text NOT NULL REFERENCES people (id),
  role         smallint NOT NULL,  -- coplan.v1.SignOffRole
  revision     bigint NOT NULL,
  sign_time    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (document_key, person_id, revision)
);

-- Who is watching a document now, per server instance. Unlogged: it is rebuilt from
-- live streams and loses nothing that matters in a crash. Rows whose heartbeat is old
-- (a crashed instance) are ignored by readers.
CREATE UNLOGGED TABLE presence (
  document_key bigint NOT NULL,
  instance_id  text NOT NULL,
  person_id    text NOT NULL,
  editing      boolean NOT NULL,
  since        timestamptz NOT NULL,
  heartbeat    timestamptz NOT NULL,
  PRIMARY KEY (document_key, instance_id, person_id)
);
CREATE INDEX presence_by_instance ON presence (instance_id);
