variable "mode" {
  description = "How the MCP server sits behind Cloudflare Access: \"self_hosted\" (Access forwards the user's JWT in Cf-Access-Jwt-Assertion; the server forwards it as Cf-Access-Token) or \"saas\" (an Access for SaaS OIDC app; the server forwards its OAuth access token as Authorization: Bearer)."
  type        = string
  default     = "self_hosted"

  validation {
    condition     = contains(["self_hosted", "saas"], var.mode)
    error_message = "The mode must be \"self_hosted\" or \"saas\"."
  }
}

variable "mcp_server_name" {
  description = "Name of the MCP server's Access application."
  type        = string
  default     = "MCP server"
}

variable "mcp_server_domain" {
  description = "Hostname the self-hosted MCP server is served on (used when mode = \"self_hosted\")."
  type        = string
  default     = "mcp.internal.example.com"
}

variable "oauth_redirect_uris" {
  description = "OAuth redirect URIs of the MCP client(s) (used when mode = \"saas\")."
  type        = list(string)
  default     = ["https://mcp.internal.example.com/oauth/callback"]
}

variable "managed_oauth_redirect_uris" {
  description = "Turns on Managed OAuth (beta at Cloudflare) on the self-hosted MCP server app, with dynamic client registration allowed for these redirect URIs of your users' MCP clients (absolute https:// URLs, or http:// on localhost/127.0.0.1). Self-hosted mode only. null leaves Managed OAuth unmanaged."
  type        = list(string)
  default     = null
}

variable "mcp_server_policy_ids" {
  description = "Optional ordered list of reusable allow policies that decide which users may use the MCP server itself. null leaves the MCP app's user-facing policies unmanaged."
  type        = list(string)
  default     = null
}

variable "downstream_app_names" {
  description = "Names of the existing self-hosted Access applications the MCP server calls on behalf of the user. Each must exist exactly once in the account."
  type        = list(string)
  default     = ["Internal API", "Company wiki"]
}

variable "linked_policy_name" {
  description = "Name of the reusable Service Auth policy that admits the MCP server's forwarded token on the downstream apps."
  type        = string
  default     = "Allow requests from the MCP server"
}

variable "account_id" {
  description = "Cloudflare account ID. null uses the provider's account_id (or CLOUDFLARE_ACCOUNT_ID)."
  type        = string
  default     = null
}
