-- An administrator can disable a person's account: every way they act ends (their
-- password, their identity provider's tokens, every open session) until it is enabled
-- again. The access check of every call reads it; their records stay as they are.
ALTER TABLE people ADD COLUMN disable_time timestamptz;
