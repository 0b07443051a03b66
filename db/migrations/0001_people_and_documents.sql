-- People, and the jointly edited documents (care plans, crisis plans, decision records)
-- with their full revision history.

-- Times cross the wire as microseconds since the epoch, exactly (to_timestamp() goes
-- through a double and can be off by a microsecond). STABLE, like the operators they
-- use, so that PostgreSQL inlines them instead of planning them on every call.
CREATE FUNCTION micros_to_time(bigint) RETURNS timestamptz
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  AS $$ SELECT timestamptz 'epoch' + $1 * interval '1 microsecond' $$;
CREATE FUNCTION time_to_micros(timestamptz) RETURNS bigint
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  AS $$ SELECT (extract(epoch FROM $1) * 1000000)::bigint $$;

CREATE TABLE people (
  id            text PRIMARY KEY,
  display_name  text NOT NULL,
  birth_date    date,
  clinician     boolean NOT NULL DEFAULT false,
  grid_author   boolean NOT NULL DEFAULT false,
  administrator boolean NOT NULL DEFAULT false,
  team_id       text,
  create_time   timestamptz NOT NULL DEFAULT now()
);

-- One row per document: its current state. `body` is the serialized resource message
-- (coplan.v1.Plan or coplan.v1.DecisionRecord) without the columns kept here.
CREATE TABLE documents (
  key            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  person_id      text NOT NULL REFERENCES people (id),
  collection     text NOT NULL CHECK (collection IN ('plans', 'decisions')),
  document_id    text NOT NULL,
  kind           smallint NOT NULL,  -- coplan.v1.DocumentKind
  body           bytea NOT NULL,
  revision       bigint NOT NULL CHECK (revision >= 1),
  create_time    timestamptz NOT NULL,
  update_time    timestamptz NOT NULL,
  creator_id     text NOT NULL,
  last_editor_id text NOT NULL,
  delete_time    timestamptz,
  UNIQUE (person_id, collection, document_id)
);
CREATE INDEX documents_by_person ON documents (person_id, collection, create_time DESC, key DESC);
-- Bodies change on every edit: spend disk, not CPU on compressing them each time.
ALTER TABLE documents ALTER COLUMN body SET STORAGE EXTERNAL;

-- Every accepted change, written in the same transaction as the new state. History is
-- never updated or deleted.
CREATE TABLE document_revisions (
  document_key    bigint NOT NULL REFERENCES documents (key),
  revision        bigint NOT NULL,
  kind            smallint NOT NULL,  -- coplan.v1.RevisionKind
  author_id       text NOT NULL,
  create_time     timestamptz NOT NULL,
  operations      bytea NOT NULL,     -- coplan.v1.Revision with operations and changed paths
  changed_paths   text[] NOT NULL,
  snapshot        bytea NOT NULL,     -- the body after this revision
  idempotency_key text,
  request_hash    bytea,
  PRIMARY KEY (document_key, revision)
);
ALTER TABLE document_revisions ALTER COLUMN operations SET STORAGE EXTERNAL;
ALTER TABLE document_revisions ALTER COLUMN snapshot SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX document_revisions_idempotency
  ON document_revisions (document_key, author_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE FUNCTION refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'document history is append-only';
END $$;
CREATE TRIGGER document_revisions_append_only
  BEFORE UPDATE OR DELETE ON document_revisions
  FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
