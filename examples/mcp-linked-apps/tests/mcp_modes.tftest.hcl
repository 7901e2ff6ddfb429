# `terraform test` (Terraform 1.6+) of this module against cfaccess-emulator, both MCP
# modes, with the wiring proven through the emulator's Access edge, not just read back.
#
#   export CLOUDFLARE_BASE_URL=http://127.0.0.1:PORT/client/v4   # cfaccess-emulator --seed-demo
#   export CLOUDFLARE_API_TOKEN=… CLOUDFLARE_ACCOUNT_ID=023e105f4ecef8ad9ca31a8372d0c353
#   terraform init && terraform test
#
# The runs share one state of the module, in order: self-hosted, its edge check, the
# switch to saas (the MCP app is replaced, the linked policy follows the new uid), its
# edge check. `terraform test` destroys everything at the end.

run "self_hosted" {
  variables {
    mode = "self_hosted"
  }

  assert {
    condition     = output.inbound_token_header == "Cf-Access-Jwt-Assertion"
    error_message = "a self-hosted MCP server receives the user's JWT in Cf-Access-Jwt-Assertion"
  }

  assert {
    condition     = output.downstream_token_header == "Cf-Access-Token" && output.downstream_token_prefix == ""
    error_message = "a self-hosted MCP server forwards the token bare in Cf-Access-Token"
  }

  assert {
    condition     = output.oidc_client_id == null
    error_message = "a self-hosted MCP app has no OAuth client"
  }

  assert {
    condition     = length(output.downstream_app_ids) == 2
    error_message = "the linked policy must reach both downstream apps"
  }
}

run "self_hosted_edge" {
  module {
    source = "./tests/edge"
  }

  variables {
    mcp_app_id         = run.self_hosted.mcp_app_id
    downstream_app_ids = values(run.self_hosted.downstream_app_ids)
    token_header       = run.self_hosted.downstream_token_header
    token_prefix       = run.self_hosted.downstream_token_prefix
  }

  assert {
    condition     = output.checked_apps == 2
    error_message = "the edge check must have covered both downstream apps"
  }
}

run "saas" {
  variables {
    mode = "saas"
  }

  assert {
    condition     = output.inbound_token_header == "Authorization"
    error_message = "a SaaS (OIDC) MCP server receives an OAuth access token"
  }

  assert {
    condition     = output.downstream_token_header == "Authorization" && output.downstream_token_prefix == "Bearer "
    error_message = "a SaaS MCP server forwards its access token as Authorization: Bearer"
  }

  assert {
    condition     = output.oidc_client_id != null && output.oidc_client_id != ""
    error_message = "a SaaS MCP app has an OAuth client id"
  }

  assert {
    condition     = output.mcp_app_uid != run.self_hosted.mcp_app_uid
    error_message = "switching the mode replaces the MCP app, so its uid changes"
  }
}

run "saas_edge" {
  module {
    source = "./tests/edge"
  }

  variables {
    mcp_app_id         = run.saas.mcp_app_id
    downstream_app_ids = values(run.saas.downstream_app_ids)
    token_header       = run.saas.downstream_token_header
    token_prefix       = run.saas.downstream_token_prefix
  }

  assert {
    condition     = output.checked_apps == 2
    error_message = "the edge check must have covered both downstream apps"
  }
}
