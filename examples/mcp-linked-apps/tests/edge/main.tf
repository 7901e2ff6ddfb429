# Helper module of mcp_modes.tftest.hcl: proves the Linked App Token wiring through
# cfaccess-emulator's Access edge, as an MCP server would use it. A user signs in to the
# MCP server app; the token Access hands out must be admitted (200) by every downstream
# app when forwarded in the module's header, and refused (403) without it. Any other
# answer fails the apply, and so the test run.
#
# Built-in pieces only (terraform_data, local-exec with curl), so the test needs no
# provider download. The emulator's admin API is found next to CLOUDFLARE_BASE_URL.

terraform {
  required_version = ">= 1.6.0"
}

variable "mcp_app_id" {
  description = "ID of the MCP server app the user signs in to."
  type        = string
}

variable "downstream_app_ids" {
  description = "Downstream apps that must admit the forwarded token."
  type        = list(string)
}

variable "token_header" {
  description = "Header the MCP server forwards the token in."
  type        = string
}

variable "token_prefix" {
  description = "Text before the token in that header."
  type        = string
}

variable "user_email" {
  description = "The user who signs in to the MCP server."
  type        = string
  default     = "alice@example.com"
}

resource "terraform_data" "edge_check" {
  triggers_replace = [var.mcp_app_id, var.downstream_app_ids, var.token_header, var.token_prefix]

  provisioner "local-exec" {
    command = "sh ${path.module}/edge-check.sh"
    environment = {
      MCP_APP_ID         = var.mcp_app_id
      DOWNSTREAM_APP_IDS = join(" ", var.downstream_app_ids)
      TOKEN_HEADER       = var.token_header
      TOKEN_PREFIX       = var.token_prefix
      USER_EMAIL         = var.user_email
    }
  }
}

output "checked_apps" {
  description = "How many downstream apps the edge check covered."
  value       = length(var.downstream_app_ids)
  depends_on  = [terraform_data.edge_check]
}
