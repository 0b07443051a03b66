-- Sign-in failures that decay: a failure long after the previous one (or after a lock
-- has run out) starts the count again, so occasional wrong attempts never add up to a
-- lock; consecutive locks without a successful sign-in in between last longer each time
-- (lock_count), to slow a determined guesser. Both reset on a successful sign-in.
ALTER TABLE accounts ADD COLUMN last_failure_time timestamptz;
ALTER TABLE accounts ADD COLUMN lock_count integer NOT NULL DEFAULT 0;
