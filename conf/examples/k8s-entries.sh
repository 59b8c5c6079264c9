#!/bin/sh
# Registration entries for agent-k8s-containerd.conf: the k8s attestor says
# which pod asks (namespace, service account), this plugin (named
# "sigstore") which image it runs and who signed it. An entry is granted only
# when the workload has every selector of the entry.
PARENT=${PARENT:-spiffe://acme.example/spire/agent/k8s_psat/prod/REPLACE-ME}

# The payments API pods, and only while they run an image that acme's
# release workflow signed (identity "payments-release"):
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://acme.example/payments/api \
  -selector k8s:ns:payments \
  -selector k8s:sa:api \
  -selector sigstore:image-signature-identity:payments-release

# The same, pinned to the payments repository as well (the release workflow
# may sign other images):
spire-server entry create -parentID "$PARENT" -spiffeID spiffe://acme.example/payments/api-pinned \
  -selector k8s:ns:payments \
  -selector k8s:sa:api \
  -selector sigstore:image-signature-identity:payments-release \
  -selector sigstore:image_repository:ghcr.io/acme/payments
