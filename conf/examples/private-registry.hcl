# plugin_data with registry credentials. Secrets are read from files (never
# inline); without them the Docker config (auths, credHelpers, credsStore) is
# used, as `docker pull` would.
docker_socket_path = "unix:///var/run/docker.sock"
docker_config_path = "/etc/spire/docker/config.json"

registry "registry.internal:5000" {
  username      = "spire-reader"
  password_file = "/etc/spire/registry/password"
  ca_file       = "/etc/spire/registry/ca.pem"
}

registry "ghcr.io" {
  token_file = "/etc/spire/registry/ghcr-token"
}

# Images from Docker Hub may run without a registry binding (their container
# selectors stay; no digest or signature selectors when not bound).
registry "docker.io" {
  binding = "prefer"
}

identity {
  name    = "payments-release"
  issuer  = "https://token.actions.githubusercontent.com"
  subject = "https://github.com/acme/payments/.github/workflows/release.yml@refs/heads/main"
}
