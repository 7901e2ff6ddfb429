output "mcp_app_id" {
  description = "ID of the MCP server's Access application."
  value       = cfaccess_mcp_server_app.mcp.id
}

output "mcp_app_uid" {
  description = "The value linked_app_token rules take: Access admits tokens issued for this app on the downstream apps."
  value       = cfaccess_mcp_server_app.mcp.uid
}

output "mcp_app_aud" {
  description = "Audience tag of the MCP server app; the MCP server validates the inbound JWT's aud claim against it."
  value       = cfaccess_mcp_server_app.mcp.aud
}

output "inbound_token_header" {
  description = "Request header in which the MCP server receives the user's token."
  value       = cfaccess_mcp_server_app.mcp.inbound_token_header
}

output "downstream_token_header" {
  description = "Request header in which the MCP server must forward that token to the downstream apps."
  value       = cfaccess_mcp_server_app.mcp.downstream_token_header
}

output "downstream_token_prefix" {
  description = "Text to put before the token in downstream_token_header (\"Bearer \" for saas, empty for self_hosted)."
  value       = cfaccess_mcp_server_app.mcp.downstream_token_prefix
}

output "downstream_app_ids" {
  description = "IDs of the downstream apps the linked policy is attached to, by name."
  value       = { for name, app in data.cfaccess_access_application.downstream : name => app.id }
}

output "linked_policy_id" {
  description = "ID of the reusable linked app token policy."
  value       = cfaccess_linked_app_policy.mcp_to_downstream.id
}

output "oidc_client_id" {
  description = "OAuth client ID of the MCP server (saas mode only; null for self_hosted)."
  value       = cfaccess_mcp_server_app.mcp.client_id
}

output "oidc_client_secret" {
  description = "OAuth client secret of the MCP server (saas mode only). Returned by the API once, at creation; null after an import."
  value       = cfaccess_mcp_server_app.mcp.client_secret
  sensitive   = true
}
