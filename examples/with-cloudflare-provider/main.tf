# The downstream apps are managed by the official provider (cloudflare/cloudflare v5),
# the Linked App Token policy by cfaccess. See docs/guides/with-the-cloudflare-provider.md.
#
# cloudflare_zero_trust_access_application's `policies` list is authoritative: what is
# not in it is detached on the next apply. So here the app lists the linked policy
# itself (option A) and the cfaccess policy leaves target_app_ids unset; the wiki
# instead ignores changes to its policies and lets cfaccess attach (option B).

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.8" # linked_app_token rules need 5.8 or newer
    }
    cfaccess = {
      source = "cfaccess/cfaccess"
    }
  }
}

variable "account_id" {
  description = "Cloudflare account ID."
  type        = string
}

provider "cloudflare" {}

provider "cfaccess" {
  account_id = var.account_id
}

# The MCP server's Access app, managed by the official provider instead of
# cfaccess_mcp_server_app. Its id is what a linked_app_token rule takes.
resource "cloudflare_zero_trust_access_application" "mcp" {
  account_id       = var.account_id
  name             = "MCP server"
  type             = "self_hosted"
  domain           = "mcp.example.com"
  session_duration = "24h"
  policies = [
    { id = cloudflare_zero_trust_access_policy.employees.id, precedence = 1 },
  ]
}

resource "cloudflare_zero_trust_access_policy" "employees" {
  account_id = var.account_id
  name       = "Employees"
  decision   = "allow"
  include = [
    { email_domain = { domain = "example.com" } },
  ]
}

# The Linked App Token policy: cfaccess validates it (Service Auth decision, linked apps
# that exist and are not targets, ...) and, with target_app_ids unset, attaches nothing.
resource "cfaccess_linked_app_policy" "mcp_to_api" {
  name            = "Allow requests from the MCP server"
  linked_app_uids = [cloudflare_zero_trust_access_application.mcp.id]
}

# Option A: the downstream app lists the linked policy in its own, ordered `policies`.
resource "cloudflare_zero_trust_access_application" "api" {
  account_id       = var.account_id
  name             = "Internal API"
  type             = "self_hosted"
  domain           = "api.example.com"
  session_duration = "24h"
  policies = [
    { id = cloudflare_zero_trust_access_policy.employees.id, precedence = 1 },
    { id = cfaccess_linked_app_policy.mcp_to_api.id, precedence = 2 },
  ]
}

# Option B: cfaccess attaches its policy (target_app_ids), and the official provider is
# told to leave the wiki's policy list alone after creating it.
resource "cloudflare_zero_trust_access_application" "wiki" {
  account_id       = var.account_id
  name             = "Company wiki"
  type             = "self_hosted"
  domain           = "wiki.example.com"
  session_duration = "24h"
  policies = [
    { id = cloudflare_zero_trust_access_policy.employees.id, precedence = 1 },
  ]

  lifecycle {
    ignore_changes = [policies]
  }
}

resource "cfaccess_linked_app_policy" "mcp_to_wiki" {
  name            = "Allow requests from the MCP server (wiki)"
  linked_app_uids = [cloudflare_zero_trust_access_application.mcp.id]
  target_app_ids  = [cloudflare_zero_trust_access_application.wiki.id]
}
