-- Run once as a PostgreSQL superuser to prepare a database for Coplan:
--   psql -v password="'...'" -f postgres-setup.sql
-- Coplan creates its own tables (coplan-server migrate, or at start-up).
CREATE ROLE coplan LOGIN PASSWORD :password;
CREATE DATABASE coplan OWNER coplan ENCODING 'UTF8';
-- Durability: leave synchronous_commit = on and fsync = on (the defaults); an
-- acknowledged change must survive a crash.
