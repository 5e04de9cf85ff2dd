"""minicluster: the whole toy cluster on one machine, nodes as network namespaces.

Mirrors kind (sigs.k8s.io/kind: nodes, a network, a kubeconfig, create/delete) and
hack/local-up-cluster.sh (the components and their flags), with CoreDNS's kubernetes
plugin in minicluster/dns. It only wires the other packages together.
"""
