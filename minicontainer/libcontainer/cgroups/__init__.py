"""cgroup managers: mirrors libcontainer/cgroups (fs for v1, fs2 for v2)."""
