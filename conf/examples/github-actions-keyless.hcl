# plugin_data for images signed keyless by GitHub Actions with the public-good
# Sigstore instance (cosign sign in a workflow, no key). The public-good
# trusted root is embedded and refreshed through TUF in the background
# (offline = true for air-gapped nodes: then nothing is fetched).
docker_socket_path = "unix:///var/run/docker.sock"

# Only named-rule selectors: an entry names a rule (image-signature-identity:
# payments-release) that one signature satisfied whole.
signer_selectors = "named"

identity {
  name           = "payments-release"
  issuer         = "https://token.actions.githubusercontent.com"
  # Whole-value match: only the release workflow of acme/payments, on tags.
  subject_regexp = "https://github.com/acme/payments/[.]github/workflows/release[.]yml@refs/tags/v[0-9.]+"
  claims {
    runner_environment = "github-hosted"
  }
}

registry "ghcr.io" {
  # Public images need no credentials; for private ones see private-registry.hcl.
}
