-- Option grids (drafts and published versions), decision-record summaries for the
-- caseload view, and CollaboRATE responses.

CREATE TABLE option_grids (
  id             text PRIMARY KEY,
  title          text NOT NULL,
  locale         text NOT NULL,
  translation_of text REFERENCES option_grids (id),
  draft          bytea NOT NULL,    -- coplan.v1.OptionGrid content fields
  draft_revision bigint NOT NULL DEFAULT 1,
  latest_version integer NOT NULL DEFAULT 0,
  published_draft_revision bigint NOT NULL DEFAULT 0,  -- draft_revision at the last publish
  created_by     text NOT NULL,
  create_time    timestamptz NOT NULL DEFAULT now(),
  update_time    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX option_grids_by_title ON option_grids (title, id);

-- Published versions never change.
CREATE TABLE option_grid_versions (
  grid_id          text NOT NULL REFERENCES option_grids (id),
  version          integer NOT NULL,
  content          bytea NOT NULL,  -- coplan.v1.OptionGridVersion as published
  publish_time     timestamptz NOT NULL,
  publisher_id     text NOT NULL,
  next_review_date date,
  PRIMARY KEY (grid_id, version)
);
CREATE TRIGGER option_grid_versions_immutable
  BEFORE UPDATE OR DELETE ON option_grid_versions
  FOR EACH ROW EXECUTE FUNCTION refuse_history_change();

-- Searchable summary of each decision record, kept in step with it on every change.
CREATE TABLE decision_summaries (
  document_key   bigint PRIMARY KEY REFERENCES documents (key),
  person_id      text NOT NULL REFERENCES people (id),
  title          text NOT NULL,
  stage          smallint NOT NULL,
  status         smallint NOT NULL,
  sure_complete  boolean NOT NULL,
  sure_score     smallint NOT NULL,
  follow_up_date date,
  deleted        boolean NOT NULL DEFAULT false
);
CREATE INDEX decision_summaries_by_person ON decision_summaries (person_id);

CREATE TABLE collaborate_responses (
  id                       text PRIMARY KEY,
  document_key             bigint NOT NULL UNIQUE REFERENCES documents (key),
  person_id                text NOT NULL REFERENCES people (id),
  clinician_id             text NOT NULL REFERENCES people (id),
  team_id                  text,
  understand_health_issues smallint NOT NULL,
  listen_to_what_matters   smallint NOT NULL,
  include_what_matters     smallint NOT NULL,
  create_time              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX collaborate_by_clinician ON collaborate_responses (clinician_id);
CREATE INDEX collaborate_by_team ON collaborate_responses (team_id);
