# plugin_data for images signed with a cosign key pair (cosign sign --key).
docker_socket_path = "unix:///var/run/docker.sock"

key {
  name = "release"
  path = "/etc/spire/cosign/release.pub"
}
key {
  name = "hotfix"
  path = "/etc/spire/cosign/hotfix.pub"
}

# Keep the default (require_tlog = true) when your signatures are in Rekor;
# set it to false only for signatures made without a transparency log.
require_tlog = true
