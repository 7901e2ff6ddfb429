# The MCP server's own Access application (self-hosted here; type = "saas" works the
# same way for the policy).
resource "cfaccess_mcp_server_app" "mcp" {
  name   = "mcp-server"
  domain = "mcp.example.com"
}

# The self-hosted downstream applications the MCP server calls on behalf of the user.
data "cfaccess_access_application" "wiki" {
  name = "Company wiki"
}

data "cfaccess_access_application" "api" {
  name = "Internal API"
}

# One reusable Service Auth (non_identity) policy accepting tokens issued for the MCP
# server app, attached to both downstream applications after their existing policies.
# Their other policies (for example the employees' allow policy) are never modified.
resource "cfaccess_linked_app_policy" "mcp_to_downstream" {
  name            = "Allow requests from the MCP server"
  linked_app_uids = [cfaccess_mcp_server_app.mcp.uid]
  target_app_ids = [
    data.cfaccess_access_application.wiki.id,
    data.cfaccess_access_application.api.id,
  ]
}

# A fixed position and session duration, for an application whose policy order matters.
resource "cfaccess_linked_app_policy" "mcp_to_api_first" {
  name             = "MCP server first"
  linked_app_uids  = [cfaccess_mcp_server_app.mcp.uid]
  target_app_ids   = [data.cfaccess_access_application.api.id]
  precedence       = 10
  session_duration = "1h"
}
