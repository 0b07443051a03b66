-- The server's database role gets data access only, and audit rows are sealed as they
-- are inserted.
--
-- Run by the schema owner (`coplan-server migrate` with the owner's credentials). The
-- server connects as a member of the group role coplan_server, which owns nothing: it
-- cannot drop or alter tables, disable triggers or (not being a superuser) switch them
-- off with session_replication_role. deploy/postgres-setup.sql creates the roles; a
-- schema owner allowed to create roles (the embedded cluster's) creates the group here.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'coplan_server') THEN
    CREATE ROLE coplan_server NOLOGIN;
  END IF;
END $$;

-- Audit rows are never updated any more: each carries, from its insert, a MAC (with the
-- audit key, which only the servers hold) over its content and a random nonce (so a
-- copied row is caught), and the id of the transaction that wrote it. Checkpoints
-- (below) chain the rows in transaction order, keyed, and leave the database.
-- The old chain columns stay for rows sealed before this migration; nothing writes them.
DROP TRIGGER audit_events_append_only ON audit_events;
DROP INDEX audit_unsealed;
DROP TABLE audit_chain_head;
ALTER TABLE audit_events ADD COLUMN event_nonce bytea UNIQUE;
ALTER TABLE audit_events ADD COLUMN tx_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX audit_by_transaction ON audit_events (tx_id, id);

CREATE OR REPLACE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only';
END $$;
CREATE TRIGGER audit_events_append_only
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_guard();

-- A row's transaction id is the writer's own, whatever the INSERT says: a row cannot be
-- slipped into a stretch of the trail that a checkpoint already covers.
CREATE FUNCTION audit_events_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tx_id := pg_current_xact_id();
  RETURN NEW;
END $$;
CREATE TRIGGER audit_events_stamp_transaction
  BEFORE INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_stamp();

-- Checkpoint n covers every audit row written by a transaction older than `horizon`
-- (all of them finished when it was taken, so that stretch can no longer change):
--   digest[n] = SHA-256 chain over digest[n-1] and those rows' MACs, in (tx_id, id) order
--   mac[n]    = HMAC(audit key, n, horizon, rows_total, digest[n], made_at)
-- Each is also written to the server's log and checkpoint file, outside the database,
-- so rows cut from the end or a wiped trail are caught against the last one kept there.
CREATE TABLE audit_checkpoints (
  seq        bigint PRIMARY KEY,
  horizon    xid8 NOT NULL,
  rows_total bigint NOT NULL,
  digest     bytea NOT NULL,
  made_at    timestamptz NOT NULL,
  mac        bytea NOT NULL
);
CREATE TRIGGER audit_checkpoints_append_only
  BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_events_guard();
CREATE TRIGGER audit_checkpoints_no_truncate
  BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_no_truncate();

-- What the server's role may do. History tables are append-only by privilege as well as
-- by trigger; the schema's own record is read-only to it.
GRANT USAGE ON SCHEMA public TO coplan_server;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO coplan_server;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO coplan_server;
REVOKE UPDATE, DELETE ON audit_events, audit_checkpoints, document_revisions,
  option_grid_versions FROM coplan_server;
REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM coplan_server;
-- Tables of later migrations get data access too (each revokes what it must).
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO coplan_server;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO coplan_server;
