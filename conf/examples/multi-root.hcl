# plugin_data trusting two Sigstore instances at once: public-good (kept
# current through TUF in the background) for open-source images, and
# GitHub's instance for private repositories (`gh attestation trusted-root`
# writes its trusted_root.json). GitHub's instance has Fulcio and a
# timestamp authority but no transparency log: its signatures carry an
# RFC 3161 timestamp as trusted time, so require_tlog defaults to false for
# that root (and to true for public-good, which has Rekor).
docker_socket_path = "unix:///var/run/docker.sock"
signer_selectors   = "named"

trusted_root "public-good" { }

trusted_root "github" {
  file = "/etc/spire/sigstore/github-trusted_root.json"
}

# Private repositories: only signatures verified under GitHub's instance.
identity {
  name           = "payments-release"
  issuer         = "https://token.actions.githubusercontent.com"
  subject_regexp = "https://github.com/acme/payments/[.]github/workflows/release[.]yml@refs/tags/v[0-9.]+"
  trusted_roots  = ["github"]
}

# Open-source base images, signed through public-good.
identity {
  name           = "distroless"
  issuer         = "https://accounts.google.com"
  subject        = "keyless@distroless.iam.gserviceaccount.com"
  trusted_roots  = ["public-good"]
}
