# Self-hosted MCP server: Access authenticates the user in front of the server and
# forwards the user's JWT in the Cf-Access-Jwt-Assertion header. The server forwards
# that JWT unchanged to downstream applications in the Cf-Access-Token header.
resource "cfaccess_mcp_server_app" "self_hosted" {
  name             = "mcp-server"
  domain           = "mcp.example.com"
  session_duration = "8h"

  # Reusable allow policies that decide who may use the MCP server, evaluated in this
  # order, for example cloudflare_zero_trust_access_policy.employees.id. Policies
  # attached by others (a cfaccess_linked_app_policy targeting this app) keep their
  # place; these take the free precedences around them.
  policy_ids = ["a38ab4d4-336d-4f49-9e97-eff8550c13fa"]
}

# Self-hosted MCP server with Managed OAuth (beta at Cloudflare): Access acts as the
# OAuth authorization server, so MCP clients that follow the MCP authorization spec
# register themselves (dynamic client registration) and log in without a browser
# session. The server's header contract does not change: it still receives the user's
# JWT in Cf-Access-Jwt-Assertion and forwards it downstream in Cf-Access-Token.
resource "cfaccess_mcp_server_app" "managed_oauth" {
  name   = "mcp-server-oauth"
  domain = "mcp-oauth.example.com"

  oauth_configuration = {
    enabled = true

    dynamic_client_registration = {
      enabled = true
      # Callback URIs of the MCP clients your users run.
      allowed_uris          = ["https://claude.ai/api/mcp/auth_callback"]
      allow_any_on_loopback = true
    }

    grant = {
      access_token_lifetime = "15m"
      session_duration      = "336h"
    }
  }

  policy_ids = ["a38ab4d4-336d-4f49-9e97-eff8550c13fa"]
}

# Access for SaaS (OIDC) MCP server: the MCP client does OAuth against Access and the
# server receives an access token in "Authorization: Bearer <token>", which it forwards
# the same way to downstream applications.
resource "cfaccess_mcp_server_app" "oidc" {
  name = "mcp-server-oidc"
  type = "saas"

  saas = {
    redirect_uris                    = ["https://mcp.example.com/oauth/callback", "http://localhost:6274/oauth/callback"]
    grant_types                      = ["authorization_code_with_pkce", "refresh_tokens"]
    scopes                           = ["openid", "email", "profile"]
    access_token_lifetime            = "15m"
    allow_pkce_without_client_secret = true
  }

  policy_ids = ["a38ab4d4-336d-4f49-9e97-eff8550c13fa"]
}

# What the MCP server's code needs, without reading any docs.
output "mcp_server_env" {
  value = {
    INBOUND_TOKEN_HEADER    = cfaccess_mcp_server_app.self_hosted.inbound_token_header
    DOWNSTREAM_TOKEN_HEADER = cfaccess_mcp_server_app.self_hosted.downstream_token_header
    DOWNSTREAM_TOKEN_PREFIX = cfaccess_mcp_server_app.self_hosted.downstream_token_prefix
  }
}

output "oidc_client_id" {
  value = cfaccess_mcp_server_app.oidc.client_id
}

output "oidc_client_secret" {
  value     = cfaccess_mcp_server_app.oidc.client_secret
  sensitive = true
}
