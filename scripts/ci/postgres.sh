#!/usr/bin/env bash
# Starts the Debian PostgreSQL 15 cluster on 127.0.0.1:5432 (no systemd) and
# creates role and database "todo" (password "password"). Idempotent.
set -euo pipefail
pg_lsclusters -h | grep -q '^15 *main ' || pg_createcluster 15 main
pg_ctlcluster 15 main status >/dev/null 2>&1 || pg_ctlcluster 15 main start
su postgres -c "psql -v ON_ERROR_STOP=1 -q" <<'SQL'
DO $$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'todo') THEN
    CREATE ROLE todo LOGIN PASSWORD 'password';
  END IF;
END$$;
SELECT 'CREATE DATABASE todo OWNER todo'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'todo')\gexec
SQL
