#!/usr/bin/env bash
# The read replica's entrypoint. On the first start (an empty volume) it clones the primary with
# pg_basebackup -R, which also writes standby.signal and primary_conninfo, so the server starts as a
# streaming hot standby. Then it hands over to the image's own entrypoint, which finds an
# initialised data directory, skips initdb and runs the server as the postgres user.
set -euo pipefail

primary_host="${PRIMARY_HOST:?PRIMARY_HOST names the primary}"
primary_port="${PRIMARY_PORT:-5432}"
replication_user="${REPLICATION_USER:-replicator}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  # depends_on waits for the primary's healthcheck; this also rides out a primary still
  # finishing its own first start. pg_basebackup removes what it wrote when it fails.
  # The same fallback as primary-init.sh: the replication password is POSTGRES_PASSWORD unless set apart.
  export PGPASSWORD="${REPLICATION_PASSWORD:-${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD or REPLICATION_PASSWORD}}"
  for attempt in $(seq 30); do
    if gosu postgres pg_basebackup -h "$primary_host" -p "$primary_port" -U "$replication_user" \
      -D "$PGDATA" -R -X stream -c fast; then
      break
    fi
    if [ "$attempt" = 30 ]; then
      echo "replica: could not clone $primary_host:$primary_port" >&2
      exit 1
    fi
    echo "replica: the primary is not ready yet (attempt $attempt); retrying" >&2
    sleep 2
  done
  unset PGPASSWORD
fi

exec docker-entrypoint.sh "$@"
