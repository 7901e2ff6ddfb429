# Look an existing Access application up by exactly one of id, name or domain
# (exact match). Zero or several matches are an error.
data "cfaccess_access_application" "internal_api" {
  name = "Internal API"
}

data "cfaccess_access_application" "wiki" {
  domain = "wiki.internal.example.com"
}

data "cfaccess_access_application" "by_id" {
  id = "4b1c7f0e-8a52-4d0b-9d3e-1f6a2c9e5b01"
}

# Typical use: let an MCP server call the downstream apps on behalf of the user.
resource "cfaccess_mcp_server_app" "mcp" {
  name   = "mcp-server"
  domain = "mcp.example.com"
}

resource "cfaccess_linked_app_policy" "mcp_to_downstream" {
  name            = "mcp-server may call internal apps"
  linked_app_uids = [cfaccess_mcp_server_app.mcp.uid]
  target_app_ids = [
    data.cfaccess_access_application.internal_api.id,
    data.cfaccess_access_application.wiki.id,
  ]
}

output "internal_api_policies" {
  # Every attached policy, in precedence order.
  value = data.cfaccess_access_application.internal_api.policy_ids
}
