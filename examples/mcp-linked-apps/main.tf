# The Linked App Token wiring for one MCP server:
#
#   MCP client -> MCP server (Access app, this module) -> downstream self-hosted apps
#
# The MCP server is an Access application. Each downstream app gets one reusable
# Service Auth (non_identity) policy whose include rule is linked_app_token pointing at
# the MCP server app, so Access admits the user's token when the MCP server forwards it.

locals {
  self_hosted = var.mode == "self_hosted"
}

resource "cfaccess_mcp_server_app" "mcp" {
  name       = var.mcp_server_name
  type       = var.mode
  account_id = var.account_id
  policy_ids = var.mcp_server_policy_ids

  # Self-hosted: Access sits in front of the server's hostname.
  domain = local.self_hosted ? var.mcp_server_domain : null

  # Self-hosted with Managed OAuth (beta at Cloudflare): Access is also the OAuth
  # authorization server, so MCP clients register themselves and log in without a
  # browser session. The server still receives Cf-Access-Jwt-Assertion and forwards
  # Cf-Access-Token; only the client's side changes.
  oauth_configuration = var.managed_oauth_redirect_uris == null ? null : {
    enabled = true
    dynamic_client_registration = {
      enabled      = true
      allowed_uris = var.managed_oauth_redirect_uris
    }
  }

  # Access for SaaS: Access is the OAuth authorization server of the MCP client.
  saas = local.self_hosted ? null : {
    redirect_uris                    = var.oauth_redirect_uris
    grant_types                      = ["authorization_code_with_pkce", "refresh_tokens"]
    scopes                           = ["openid", "email", "profile"]
    access_token_lifetime            = "5m"
    allow_pkce_without_client_secret = true
  }
}

# The downstream apps already exist (managed elsewhere, or by hand); look them up by name.
data "cfaccess_access_application" "downstream" {
  for_each = toset(var.downstream_app_names)

  name       = each.value
  account_id = var.account_id
}

# One reusable policy, attached to every downstream app. Other policies on those apps
# (for example their user-facing allow policies) are never touched.
resource "cfaccess_linked_app_policy" "mcp_to_downstream" {
  name            = var.linked_policy_name
  linked_app_uids = [cfaccess_mcp_server_app.mcp.uid]
  target_app_ids  = [for app in data.cfaccess_access_application.downstream : app.id]
  account_id      = var.account_id
}
