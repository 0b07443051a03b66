-- Run once as a PostgreSQL superuser to prepare a database for Coplan:
--   psql -v owner_password="'...'" -v server_password="'...'" -f postgres-setup.sql
--
-- Two roles, so that the server's credentials cannot undo the audit trail's protections:
--   coplan_owner  owns the database and its schema; used only by `coplan-server migrate`
--                 (a separate step or job, before servers of a new version start)
--   coplan_app    what the servers connect as: a member of coplan_server, which the
--                 migrations grant data access only (insert and read on the audit trail
--                 and the document history; it owns nothing, so it cannot drop or alter
--                 tables or disable their triggers, and is not a superuser)
-- A server refuses to start as a superuser or as the schema's owner, and on a schema
-- older than it needs.
CREATE ROLE coplan_owner LOGIN PASSWORD :owner_password;
CREATE ROLE coplan_server NOLOGIN;
CREATE ROLE coplan_app LOGIN PASSWORD :server_password IN ROLE coplan_server;
CREATE DATABASE coplan OWNER coplan_owner ENCODING 'UTF8';
\connect coplan
-- PostgreSQL 15 lets only the database owner create in the public schema; older
-- versions let everyone: take that away from the server's role.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO coplan_owner;
-- Durability: leave synchronous_commit = on and fsync = on (the defaults); an
-- acknowledged change must survive a crash.
