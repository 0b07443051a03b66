-- Device sessions: a phone stays signed in with a refresh token that works once and is
-- replaced at each use. Only hashes of refresh tokens are kept. The token rotated out
-- last is remembered so that its reuse (a copy in someone else's hands) ends the session.
ALTER TABLE sessions ADD COLUMN device_name text;
ALTER TABLE sessions ADD COLUMN refresh_token_hash bytea;
ALTER TABLE sessions ADD COLUMN previous_refresh_hash bytea;
ALTER TABLE sessions ADD COLUMN last_refresh_time timestamptz;
CREATE UNIQUE INDEX sessions_by_refresh_token ON sessions (refresh_token_hash)
  WHERE refresh_token_hash IS NOT NULL;
CREATE INDEX sessions_by_previous_refresh_token ON sessions (previous_refresh_hash)
  WHERE previous_refresh_hash IS NOT NULL;
CREATE INDEX sessions_by_person ON sessions (person_id, create_time DESC);
