#!/bin/sh
# Starts PostgreSQL as the postgres user. On the first start (an empty volume) it creates
# the cluster, the app's role and its database from /etc/bakery-db/init.env, which bakery
# copied into the created container (root-only), and then deletes that file: the
# password lives on only as PostgreSQL's SCRAM verifier and in .deploy/ENV/ on the host.
set -eu
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ ! -f /etc/bakery-db/init.env ]; then
    echo "bakery-db: empty data directory and no /etc/bakery-db/init.env: nothing to initialise from" >&2
    exit 1
  fi
  # DB_USER, DB_NAME and DB_PASSWORD: letters, digits and _ only (bakery makes them).
  . /etc/bakery-db/init.env
  chown postgres:postgres "$PGDATA"
  chmod 0700 "$PGDATA"
  as_postgres initdb --pgdata="$PGDATA" --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  # Reachable from the environment's network only (the container publishes no port).
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # A server on the socket only, so nothing connects before the role exists.
  as_postgres pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait start >/dev/null
  as_postgres psql --quiet --no-psqlrc --set ON_ERROR_STOP=1 --dbname=postgres <<SQL
CREATE ROLE "$DB_USER" LOGIN PASSWORD '$DB_PASSWORD';
CREATE DATABASE "$DB_NAME" OWNER "$DB_USER";
SQL
  as_postgres pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop >/dev/null
  echo "bakery-db: created database $DB_NAME for role $DB_USER"
fi
rm -f /etc/bakery-db/init.env
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA"
