# Import an existing self-hosted or SaaS (OIDC) Access application by
# <account_id>/<app_id>, or by <app_id> alone to use the provider's account_id.
terraform import cfaccess_mcp_server_app.self_hosted 023e105f4ecef8ad9ca31a8372d0c353/6cdc3892-f9f1-4813-a5ce-38c2753e1208
terraform import cfaccess_mcp_server_app.oidc 9b7e2a4c-1d3f-4e5a-8b6c-7d8e9f0a1b2c
