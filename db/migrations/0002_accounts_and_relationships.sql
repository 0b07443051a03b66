-- Sign-in, and the relationships that give access to a person's records.

-- Built-in accounts (Argon2id hashes, never passwords).
CREATE TABLE accounts (
  person_id       text PRIMARY KEY REFERENCES people (id),
  username        text NOT NULL UNIQUE,  -- lower case
  password_hash   text NOT NULL,
  create_time     timestamptz NOT NULL DEFAULT now(),
  failed_attempts integer NOT NULL DEFAULT 0,
  locked_until    timestamptz
);

-- Sessions of server-signed tokens; a token is valid only while its session is.
CREATE TABLE sessions (
  id          text PRIMARY KEY,
  person_id   text NOT NULL REFERENCES people (id),
  create_time timestamptz NOT NULL DEFAULT now(),
  expire_time timestamptz NOT NULL,
  revoke_time timestamptz
);

-- Identities at external OpenID Connect providers.
CREATE TABLE external_identities (
  id          text PRIMARY KEY,
  person_id   text NOT NULL REFERENCES people (id),
  issuer      text NOT NULL,
  subject     text NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now(),
  UNIQUE (issuer, subject)
);

CREATE TABLE care_team_members (
  person_id    text NOT NULL REFERENCES people (id),
  clinician_id text NOT NULL REFERENCES people (id),
  role         text NOT NULL DEFAULT '',
  create_time  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (person_id, clinician_id)
);
CREATE INDEX care_team_by_clinician ON care_team_members (clinician_id);

-- Access a person gave someone: specific documents ("plans/{id}", "decisions/{id}")
-- and/or whole kinds (coplan.v1.DocumentKind).
CREATE TABLE grants (
  id             text PRIMARY KEY,
  person_id      text NOT NULL REFERENCES people (id),
  grantee_id     text NOT NULL REFERENCES people (id),
  documents      text[] NOT NULL DEFAULT '{}',
  document_kinds smallint[] NOT NULL DEFAULT '{}',
  access         smallint NOT NULL,  -- coplan.v1.AccessLevel
  expire_time    timestamptz,
  create_time    timestamptz NOT NULL DEFAULT now(),
  revoke_time    timestamptz
);
CREATE INDEX grants_by_grantee ON grants (grantee_id, person_id);
CREATE INDEX grants_by_person ON grants (person_id, create_time DESC);

-- Guardian (proxy) access to a young person's records.
CREATE TABLE proxy_accesses (
  id                text PRIMARY KEY,
  person_id         text NOT NULL REFERENCES people (id),
  proxy_id          text NOT NULL REFERENCES people (id),
  access            smallint NOT NULL,
  granted_by_person boolean NOT NULL,  -- the young person granted it themself
  created_by        text NOT NULL,
  create_time       timestamptz NOT NULL DEFAULT now(),
  refuse_time       timestamptz
);
CREATE INDEX proxy_by_proxy ON proxy_accesses (proxy_id, person_id);

-- Secrets shared by all server instances when no secret file is configured.
CREATE TABLE server_secrets (
  name  text PRIMARY KEY,
  value bytea NOT NULL
);
