#!/bin/sh
# The Secrets Baton's pods read. None is committed: the operator creates them from a
# private folder (README, "Deploying on Kubernetes"), once before the first
# deployment and again whenever a file changes (a key rotation, a new password):
#   kubectl apply -f deploy/k8s/base/namespace.yaml
#   SECRETS=/secure/baton sh deploy/k8s/secrets.example.sh
# Every command replaces the Secret with the folder's current files.
set -eu
: "${SECRETS:?set SECRETS to the private folder that holds the files named below}"

secret() {
  kubectl --namespace baton create secret "$@" --dry-run=client --output yaml \
    | kubectl --namespace baton apply --filename -
}

# Each service's two logins on the external PostgreSQL (deploy/postgres/provision.sql):
# the runtime role for the API, the schema owner for its migration Job, e.g.
# postgresql+asyncpg://cases_app:PASSWORD@db.example.internal:5432/cases?ssl=require
secret generic identity-api-database \
  --from-file=identity_database_url="$SECRETS/identity_database_url" \
  --from-file=identity_migration_database_url="$SECRETS/identity_migration_database_url"
secret generic cases-api-database \
  --from-file=cases_database_url="$SECRETS/cases_database_url" \
  --from-file=cases_migration_database_url="$SECRETS/cases_migration_database_url"
secret generic referral-api-database \
  --from-file=referrals_database_url="$SECRETS/referrals_database_url" \
  --from-file=referrals_migration_database_url="$SECRETS/referrals_migration_database_url"
secret generic grants-api-database \
  --from-file=grants_database_url="$SECRETS/grants_database_url" \
  --from-file=grants_migration_database_url="$SECRETS/grants_migration_database_url"

# Keys, made once with the services' own commands (README, "Deploying on Kubernetes")
# and backed up like the databases: without them no identity or packet can be read.
# One file per key; the folders are taken whole.
secret generic identity-api-signing-keys --from-file="$SECRETS/signing-keys"
secret generic cases-api-master-keys --from-file="$SECRETS/cases-keys/master"
secret generic cases-api-blind-index-key \
  --from-file=blind-index.key="$SECRETS/cases-keys/blind-index.key"
secret generic referral-api-master-keys --from-file="$SECRETS/referrals-keys/master"

# The clients referral-api and grants-api call cases-api with, once created in
# identity-api (README, "Deploying on Kubernetes"); the services start without them.
if [ -s "$SECRETS/referrals_intake_client_id" ]; then
  secret generic referral-api-intake-client \
    --from-file=referrals_intake_client_id="$SECRETS/referrals_intake_client_id" \
    --from-file=referrals_intake_client_secret="$SECRETS/referrals_intake_client_secret"
fi
if [ -s "$SECRETS/grants_stats_client_id" ]; then
  secret generic grants-api-stats-client \
    --from-file=grants_stats_client_id="$SECRETS/grants_stats_client_id" \
    --from-file=grants_stats_client_secret="$SECRETS/grants_stats_client_secret"
fi

# The gateway's certificate for the public host, unless cert-manager issues it.
if [ -s "$SECRETS/tls.crt" ]; then
  secret tls baton-gateway-tls --cert="$SECRETS/tls.crt" --key="$SECRETS/tls.key"
fi
