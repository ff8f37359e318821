#!/usr/bin/env bash
# The primary's one-time setup, run by the postgres image from /docker-entrypoint-initdb.d on the
# first start of an empty volume: the role the read replica clones and streams as, and the pg_hba
# line that lets it in (the image's own `host all all all` line does not cover replication).
#
# The image sources this file instead of running it when the execute bit is lost, so it changes no
# shell options and never exits.
replication_user="${REPLICATION_USER:-replicator}"
replication_password="${REPLICATION_PASSWORD:-$POSTGRES_PASSWORD}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v user="$replication_user" -v password="$replication_password" <<'SQL'
CREATE ROLE :"user" WITH REPLICATION LOGIN PASSWORD :'password';
SQL

echo "host replication $replication_user all scram-sha-256" >> "$PGDATA/pg_hba.conf"
