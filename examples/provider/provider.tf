terraform {
  required_providers {
    cfaccess = {
      source = "cfaccess/cfaccess"
    }
  }
}

# Every setting is optional. api_token, account_id and base_url fall back to the
# CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_BASE_URL environment
# variables, so in CI the block is usually empty.
provider "cfaccess" {
  account_id = "023e105f4ecef8ad9ca31a8372d0c353"

  # Client-side pacing and retries (defaults shown).
  requests_per_second = 3.5
  max_retries         = 5
  request_timeout     = "30s"
}
