// Help text for the CLI mode of the binary.

export const HELP = `spire-sigstore-attestor - a SPIRE WorkloadAttestor plugin

This program is a plugin for spire-agent. The agent starts it (plugin_cmd)
and talks to it over gRPC; you do not normally run it yourself. For a workload
calling the Workload API it finds the workload's container, checks that the
container's image is the manifest the registry serves, verifies the image's
cosign/Sigstore signature, and returns selectors naming the signer.

Agent configuration (agent.conf):

  plugins {
    WorkloadAttestor "docker" {
      plugin_cmd      = "/opt/spire/plugins/spire-sigstore-attestor"
      plugin_checksum = "<sha256 of the plugin_cmd file>"
      plugin_data {
        docker_socket_path = "unix:///var/run/docker.sock"
        log_level          = "info"
      }
    }
  }

The name in quotes ("docker") becomes the selector type, e.g.
docker:image_config_digest:sha256:... .

Commands (for operators, outside the agent):
  attest --pid <pid> [--config <file>] [--json]
                 run the attestation pipeline for a PID and print its
                 selectors (--json: each step's findings). --config takes the
                 same text as plugin_data.
  verify <image-ref> [--config <file>] [--json] [--bundle <file>]
                 find the image's cosign signatures in its registry (legacy
                 .sig and v3 bundles), verify them and apply the policy of
                 --config, without a container. --bundle verifies a Sigstore
                 bundle file for <image>@<digest> offline instead. Exit 0 when
                 at least one signature passes, 1 when none does.
  version        print the version
  help, --help   this text

Exit codes: 0 success, 1 attestation failed, 2 usage or configuration error.
`;
