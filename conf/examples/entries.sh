#!/bin/sh
# Example registration entries using this plugin's selectors (plugin named
# "docker" in agent.conf). PARENT is the agent's SPIFFE ID.
#
# Name signers by rule: image-signature-identity:<name> is emitted only when
# one signature satisfied the whole identity { name = "<name>" ... } block
# (issuer, subject and every claim), and image-signature-key:<name> only for
# a signature made with that key. Do not combine per-field selectors
# (image-signature-subject, -issuer, -<claim>) in one entry: they are the
# union over every accepted signature, so two signers can satisfy together
# what neither satisfies alone.
PARENT=${PARENT:-spiffe://example.org/spire/agent/join_token/REPLACE-ME}

# Only images signed keyless by acme/payments' release workflow, on a
# GitHub-hosted runner (identity "payments-release" in
# github-actions-keyless.hcl pins issuer, subject and runner_environment):
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://example.org/payments \
  -selector docker:image-signature-identity:payments-release

# Anything signed with the "release" key:
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://example.org/batch \
  -selector docker:image-signature-key:release

# Exactly one image manifest, as the registry serves it (bound at runtime):
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://example.org/pinned \
  -selector docker:image_digest:sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

# The release rule, and only for images of one repository (the same workflow
# may sign several images):
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://example.org/payments-api \
  -selector docker:image-signature-identity:payments-release \
  -selector docker:image_repository:ghcr.io/acme/payments-api

# Provenance (slsa-provenance.hcl): only images that GitHub built from
# acme/api's release tags (one attestation satisfied the whole rule) ...
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://example.org/api \
  -selector docker:image-attestation:api-github-build

# ... and, with both configurations' rules in one plugin_data, images both
# signed by the payments release workflow (github-actions-keyless.hcl) and
# built by the internal build system: two rules, each satisfied whole by its
# own signature or attestation.
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://example.org/payments-api-built \
  -selector docker:image-signature-identity:payments-release \
  -selector docker:image-attestation:api-internal-build
