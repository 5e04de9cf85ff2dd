"""Control-plane controllers run inside the API server (pkg/controlplane/controller)."""
