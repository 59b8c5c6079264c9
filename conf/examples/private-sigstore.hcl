# plugin_data for a private Sigstore deployment (own Fulcio, Rekor, CT log).
# Its trusted_root.json replaces the embedded public-good root entirely.
docker_socket_path = "unix:///var/run/docker.sock"
trusted_root_file  = "/etc/spire/sigstore/trusted_root.json"

identity {
  name          = "release-bot"
  issuer_regexp = "https://keycloak[.]internal/realms/ci"
  subject       = "release-bot@acme.internal"
}
