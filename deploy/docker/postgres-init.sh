#!/bin/sh
# Run once by the official PostgreSQL image on an empty volume: one database and
# two roles per service, from the same provision.sql as the local stack.
set -eu
for db in identity cases referrals grants; do
  BATON_OWNER_PASSWORD="$(cat "/run/secrets/${db}_owner_password")" \
  BATON_APP_PASSWORD="$(cat "/run/secrets/${db}_app_password")" \
    psql --username "$POSTGRES_USER" --dbname postgres --no-psqlrc \
      -v db="$db" -v owner="${db}_owner" -v app="${db}_app" -f /baton/provision.sql
done
