#!/bin/sh
# Example registration entries using this plugin's selectors (plugin named
# "docker" in agent.conf). PARENT is the agent's SPIFFE ID.
PARENT=${PARENT:-spiffe://example.org/spire/agent/join_token/REPLACE-ME}

# Only images signed keyless by acme/payments' release workflow:
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://example.org/payments \
  -selector docker:image-signature-issuer:https://token.actions.githubusercontent.com \
  -selector docker:image-signature-subject:https://github.com/acme/payments/.github/workflows/release.yml@refs/heads/main

# Anything signed with the "release" key:
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://example.org/batch \
  -selector docker:image-signature-key:release

# Exactly one image manifest, as the registry serves it (bound at runtime):
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://example.org/pinned \
  -selector docker:image_digest:sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

# Signed by the release workflow *and* built from main:
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://example.org/payments-main \
  -selector docker:image-signature-issuer:https://token.actions.githubusercontent.com \
  -selector docker:image-signature-source-repository-ref:refs/heads/main
