-- The audit trail: append-only and hash-chained.
--
-- Rows are written with a MAC over their content (row_mac). A sealer then gives them
-- consecutive chain_seq numbers and chain_hash = SHA-256(previous chain_hash || row), so
-- that an edited, deleted, inserted or reordered row breaks the chain. The head of the
-- chain is kept with its own MAC so that cutting rows off the end is also detected.

CREATE TABLE audit_events (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_time      timestamptz NOT NULL,
  actor_id        text NOT NULL DEFAULT '',
  on_behalf_of_id text NOT NULL DEFAULT '',
  action          smallint NOT NULL,  -- coplan.v1.AuditAction
  resource        text NOT NULL,
  outcome         smallint NOT NULL,  -- coplan.v1.AuditOutcome
  method          text NOT NULL,
  row_mac         bytea NOT NULL,
  chain_seq       bigint UNIQUE,
  chain_hash      bytea
);
CREATE INDEX audit_by_subject ON audit_events (on_behalf_of_id, event_time DESC, id DESC);
CREATE INDEX audit_by_actor ON audit_events (actor_id, event_time DESC, id DESC);
CREATE INDEX audit_unsealed ON audit_events (id) WHERE chain_seq IS NULL;

CREATE TABLE audit_chain_head (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  chain_seq  bigint NOT NULL,
  chain_hash bytea NOT NULL,
  head_mac   bytea NOT NULL
);

-- Rows are never deleted, and only sealing (setting chain_seq and chain_hash once) may
-- update them.
CREATE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'the audit trail is append-only';
  END IF;
  IF OLD.chain_seq IS NOT NULL
     OR NEW.id <> OLD.id OR NEW.event_time <> OLD.event_time OR NEW.actor_id <> OLD.actor_id
     OR NEW.on_behalf_of_id <> OLD.on_behalf_of_id OR NEW.action <> OLD.action
     OR NEW.resource <> OLD.resource OR NEW.outcome <> OLD.outcome OR NEW.method <> OLD.method
     OR NEW.row_mac <> OLD.row_mac THEN
    RAISE EXCEPTION 'the audit trail is append-only';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_events_append_only
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_guard();
CREATE FUNCTION audit_events_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only';
END $$;
CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_no_truncate();
