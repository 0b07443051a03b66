-- When access to a person's records is given (a care-team membership, a grant, a proxy),
-- the row names who was given it, so that the person's own access log can say "X was
-- given access to your records by Y". Part of the row's MAC when set.
ALTER TABLE audit_events ADD COLUMN access_given_to text;
