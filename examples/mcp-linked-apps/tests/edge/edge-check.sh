#!/bin/sh
# Edge check of mcp_modes.tftest.hcl (see main.tf). Needs curl and CLOUDFLARE_BASE_URL
# pointing at cfaccess-emulator (http://HOST:PORT/client/v4). The login is part of the
# emulator's admin API, which takes the API token when the emulator was started with
# --token: it is sent from CLOUDFLARE_API_TOKEN, as the provider sends it. The edge
# decisions themselves are open, as at the real edge.
set -eu
admin="${CLOUDFLARE_BASE_URL%/client/v4}/__emulator"
api_token="${CLOUDFLARE_API_TOKEN:-}"

login="$(curl -sS -X POST -H 'Content-Type: application/json' \
  ${api_token:+-H "Authorization: Bearer $api_token"} \
  -d "{\"app_id\": \"$MCP_APP_ID\", \"email\": \"$USER_EMAIL\"}" "$admin/edge/login")"
token="$(printf '%s' "$login" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')"
if [ -z "$token" ]; then
  echo "edge login to MCP app $MCP_APP_ID failed: $login" >&2
  exit 1
fi

status() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }

for app in $DOWNSTREAM_APP_IDS; do
  with="$(status -H "$TOKEN_HEADER: $TOKEN_PREFIX$token" "$admin/edge/$app")"
  without="$(status "$admin/edge/$app")"
  echo "edge: app $app with the forwarded token -> $with, without -> $without"
  if [ "$with" != 200 ] || [ "$without" != 403 ]; then
    echo "edge check failed for app $app: expected 200 with the token and 403 without" >&2
    exit 1
  fi
done
