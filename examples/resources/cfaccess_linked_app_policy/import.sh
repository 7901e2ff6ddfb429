# Import an existing Linked App Token policy by <account_id>/<policy_id>, or by
# <policy_id> alone to use the provider's account_id. Only reusable policies whose
# decision is non_identity and whose only rules are linked_app_token include rules can
# be imported. target_app_ids is set to the applications the policy is attached to.
terraform import cfaccess_linked_app_policy.mcp_to_downstream 023e105f4ecef8ad9ca31a8372d0c353/a38ab4d4-336d-4f49-9e97-eff8550c13fa
terraform import cfaccess_linked_app_policy.mcp_to_api_first 5d0c2e1e-1a0a-4a34-9d53-8d7a4a0b7f11
