-- Proxy access set up by staff for an under-16 follows a competence decision: a clinician
-- in the young person's care team records whether they are competent to decide for
-- themselves (Gillick), with the reason. Judged not competent, the proxy is active;
-- judged competent, it waits until the young person accepts it themself. Until a decision
-- it gives no access. The young person may refuse it at any time; at 16 it is suspended.
ALTER TABLE proxy_accesses ADD COLUMN judged_competent boolean;
ALTER TABLE proxy_accesses ADD COLUMN competence_reason text;
ALTER TABLE proxy_accesses ADD COLUMN competence_decided_by text;
ALTER TABLE proxy_accesses ADD COLUMN competence_decision_time timestamptz;
ALTER TABLE proxy_accesses ADD COLUMN accept_time timestamptz;
-- Proxies that were active before this migration were made under the old rule (active at
-- once); they keep working: recorded as decided "not competent" by whoever set them up.
UPDATE proxy_accesses SET judged_competent = false,
       competence_reason = 'set up before competence decisions were recorded',
       competence_decided_by = created_by, competence_decision_time = create_time
 WHERE NOT granted_by_person AND refuse_time IS NULL;
