# plugin_data for images whose build provenance decides their identity:
# "only images built by our builder from our repository get spiffe://acme/api".
# Three common producers of SLSA provenance, one attestation rule each. Entries
# name a rule (image-attestation:<name>); one attestation must satisfy all of
# it: predicate type, signer and every requirement.
docker_socket_path = "unix:///var/run/docker.sock"
signer_selectors   = "named"

registry "ghcr.io" {
  # Public images need no credentials; for private ones see private-registry.hcl.
}

# 1. GitHub artifact attestations (actions/attest-build-provenance with
#    push-to-registry: true): SLSA v1, signed keyless by the workflow that
#    ran the build, on public-good Sigstore for public repositories. The
#    provenance names the runner as builder and the repository and ref as source.
attestation "api-github-build" {
  predicate_type = "https://slsa.dev/provenance/v1"
  identity {
    issuer         = "https://token.actions.githubusercontent.com"
    subject_regexp = "https://github.com/acme/api/[.]github/workflows/release[.]yml@refs/tags/v[0-9.]+"
  }
  builder_id        = "https://github.com/actions/runner/github-hosted"
  build_type        = "https://actions.github.io/buildtypes/workflow/v1"
  source_uri_regexp = "git[+]https://github[.]com/acme/api@refs/tags/v[0-9.]+"
}

# 2. The SLSA GitHub generator for containers (a reusable workflow, SLSA
#    v0.2): the certificate is the generator's, and builder.id names it too;
#    the calling repository is invocation.configSource.uri.
attestation "api-slsa-generator" {
  predicate_type = "https://slsa.dev/provenance/v0.2"
  identity {
    issuer         = "https://token.actions.githubusercontent.com"
    subject_regexp = "https://github.com/slsa-framework/slsa-github-generator/[.]github/workflows/generator_container_slsa3[.]yml@refs/tags/v[0-9.]+"
  }
  builder_id_regexp = "https://github.com/slsa-framework/slsa-github-generator/[.]github/workflows/generator_container_slsa3[.]yml@refs/tags/v[0-9.]+"
  source_uri        = "git+https://github.com/acme/api@refs/heads/main"
}

# 3. A build system that runs `cosign attest --key … --type slsaprovenance1`
#    with its own key. A key { } block also accepts signatures made with that
#    key (image-signature-key:build-system).
key {
  name = "build-system"
  path = "/etc/spire/build-system.pub"
}
attestation "api-internal-build" {
  predicate_type = "https://slsa.dev/provenance/v1"
  key            = "build-system"
  builder_id     = "https://ci.acme.internal/builders/container@v3"
}

# Any other predicate type is matched by type and signer only, e.g. a
# security review recorded with `cosign attest --type https://acme.example/review/v1`.
attestation "api-reviewed" {
  predicate_type = "https://acme.example/review/v1"
  key            = "build-system"
}
