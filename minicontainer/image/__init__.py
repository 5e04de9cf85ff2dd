"""minicontainer's image side: containerd's content store, OCI layout, overlay snapshotter and build.

Modules: `content` (blobs by digest), `manifest` (media types, descriptors, platform choice),
`layout` (OCI image layout = our image store), `gc` (mark and sweep), `archive` (layer
tar apply/diff with whiteouts), `snapshotter` (overlayfs), `dockerfile` + `build`, `client`
(distribution API client for push/pull), `cli` (the `image`/`build`/`push`/`pull` commands).
"""
