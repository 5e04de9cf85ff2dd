"""miniclient: a small Python clone of k8s.io/client-go.

Packages: `workqueue` (util/workqueue), `cache` (tools/cache), `leaderelection`
(tools/leaderelection); modules `kubeconfig` (tools/clientcmd), `rest` (rest +
dynamic clients), `informers` (informers.SharedInformerFactory), `clock`
(k8s.io/utils/clock). See docs/miniclient.md for the map to upstream files.
"""
