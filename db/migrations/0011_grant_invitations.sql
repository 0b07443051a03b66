-- A person shares with someone they have no relationship with yet by invitation, not by
-- naming a person id (which would tell them whether it exists, and whose it is): the grant
-- is made without a grantee, with the SHA-256 of a single-use code of 160 random bits that
-- the person hands over and an expiry. It gives no access until someone signed in redeems
-- the code and becomes its grantee.
ALTER TABLE grants ALTER COLUMN grantee_id DROP NOT NULL;
ALTER TABLE grants ADD COLUMN invitation_hash bytea UNIQUE;
ALTER TABLE grants ADD COLUMN invitation_expire_time timestamptz;
ALTER TABLE grants ADD COLUMN accept_time timestamptz;
