"""ClusterIP and NodePort allocation, and the `kubernetes` Service, over a real server.

The server runs over a real etcd 3.4 (conftest's session `apiserver`, and the
restartable `second_apiserver` for persistence). kubectl 1.32 sends its
`create service` bodies as protobuf; the rest is plain JSON over HTTPS.
Upstream texts checked: alloc.go's "failed to allocate IP ...", ipallocator's and
portallocator's errors.
"""

from __future__ import annotations

import ipaddress
import json
import time
from concurrent.futures import ThreadPoolExecutor

import urllib3

from .conftest import APIServerProcess, RestartableAPIServer

RANGE = ipaddress.ip_network("10.0.0.0/24")


def call(server: APIServerProcess, method: str, path: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    pool = urllib3.PoolManager(ca_certs=server.ca, cert_reqs="CERT_REQUIRED")
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    r = pool.request(method, server.url + path, body=data, headers=headers, timeout=30)
    return r.status, json.loads(r.data)


def svc(name: str, cluster_ip: str = "", type_: str = "ClusterIP", **spec) -> dict:  # type: ignore[no-untyped-def]
    s = {"type": type_, "ports": [{"port": 80, "targetPort": 8080}], **spec}
    if cluster_ip:
        s["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": s}


SVCS = "/api/v1/namespaces/default/services"


def test_kubectl_create_and_expose_allocate_in_range(apiserver: APIServerProcess) -> None:
    apiserver.kubectl("create", "service", "clusterip", "alloc-x", "--tcp=80:8080")
    apiserver.kubectl("expose", "service", "alloc-x", "--name", "alloc-y", "--port", "81")
    out = apiserver.kubectl("get", "svc", "alloc-x", "alloc-y", "-o", "json").stdout
    specs = [item["spec"] for item in json.loads(out)["items"]]
    ips = [s["clusterIP"] for s in specs]
    assert len(set(ips)) == 2
    for s in specs:
        assert ipaddress.ip_address(s["clusterIP"]) in RANGE and s["clusterIP"] != "10.0.0.1"
        assert s["clusterIPs"] == [s["clusterIP"]]
        assert (s["ipFamilies"], s["ipFamilyPolicy"]) == (["IPv4"], "SingleStack")


def test_concurrent_creates_never_collide(apiserver: APIServerProcess) -> None:
    def create(i: int) -> tuple[int, str]:
        body = svc(f"alloc-c{i}")
        body["metadata"]["labels"] = {"alloc": "concurrent"}
        code, out = call(apiserver, "POST", SVCS, body)
        return code, out.get("spec", {}).get("clusterIP", out.get("message"))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(16)))
    assert [code for code, _ in results] == [201] * 16, results
    ips = [ip for _, ip in results]
    assert len(set(ips)) == 16 and all(ipaddress.ip_address(ip) in RANGE for ip in ips)
    assert call(apiserver, "DELETE", SVCS + "?labelSelector=alloc%3Dconcurrent")[0] == 200


def test_taken_and_out_of_range_ips_are_refused_with_upstream_text(
    apiserver: APIServerProcess,
) -> None:
    taken = apiserver.kubectl(
        "create", "service", "clusterip", "alloc-t", "--clusterip=10.0.0.1", "--tcp=80:80",
        check=False,
    )  # fmt: skip
    assert taken.returncode == 1
    assert (
        'Service "alloc-t" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.1"}: '
        "failed to allocate IP 10.0.0.1: provided IP is already allocated"
    ) in taken.stderr
    code, body = call(apiserver, "POST", SVCS, svc("alloc-o", "10.9.0.5"))
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "field": "spec.clusterIPs",
            "message": 'Invalid value: []string{"10.9.0.5"}: failed to allocate IP 10.9.0.5: '
            "the provided IP (10.9.0.5) is not in the valid range. "
            "The range of valid IPs is 10.0.0.0/24",
        }
    ]
    assert call(apiserver, "GET", f"{SVCS}/alloc-o")[0] == 404


def test_delete_and_failed_create_release_the_ip(apiserver: APIServerProcess) -> None:
    ip, other = "10.0.0.9", "10.0.0.10"  # the static block: no dynamic create takes them
    assert call(apiserver, "POST", SVCS, svc("alloc-d1", ip))[0] == 201
    # allocated, then the storage Txn fails (AlreadyExists): the IP goes back
    code, body = call(apiserver, "POST", SVCS, svc("alloc-d1", other))
    assert (code, body["reason"]) == (409, "AlreadyExists")
    assert call(apiserver, "POST", SVCS, svc("alloc-d3", other))[0] == 201
    assert call(apiserver, "POST", SVCS, svc("alloc-d2", ip))[0] == 422
    assert call(apiserver, "DELETE", f"{SVCS}/alloc-d1")[0] == 200
    code, body = call(apiserver, "POST", SVCS, svc("alloc-d2", ip))
    assert (code, body["spec"]["clusterIP"]) == (201, ip)
    for name in ("alloc-d2", "alloc-d3"):
        call(apiserver, "DELETE", f"{SVCS}/{name}")


def test_headless_and_external_name_get_no_ip(apiserver: APIServerProcess) -> None:
    code, hl = call(apiserver, "POST", SVCS, svc("alloc-hl", "None", selector={"a": "b"}))
    assert code == 201
    assert (hl["spec"]["clusterIPs"], hl["spec"]["ipFamilies"]) == (["None"], ["IPv4"])
    en = svc("alloc-en", type_="ExternalName", externalName="example.com")
    code, body = call(apiserver, "POST", SVCS, en)
    assert code == 201 and "clusterIP" not in body["spec"] and "ipFamilies" not in body["spec"]
    # an update that omits the allocated IP keeps it (patchAllocatedValues)
    _, x = call(apiserver, "POST", SVCS, svc("alloc-put"))
    put = svc("alloc-put")
    put["metadata"]["resourceVersion"] = x["metadata"]["resourceVersion"]
    code, body = call(apiserver, "PUT", f"{SVCS}/alloc-put", put)
    assert (code, body["spec"]["clusterIP"]) == (200, x["spec"]["clusterIP"])


def test_node_ports_allocated_refused_and_released(apiserver: APIServerProcess) -> None:
    code, a = call(apiserver, "POST", SVCS, svc("alloc-np1", type_="NodePort"))
    assert code == 201 and 30000 <= a["spec"]["ports"][0]["nodePort"] <= 32767
    fixed = svc("alloc-np2", type_="NodePort")
    fixed["spec"]["ports"][0]["nodePort"] = 30080
    assert call(apiserver, "POST", SVCS, fixed)[0] == 201
    fixed["metadata"]["name"] = "alloc-np3"
    code, body = call(apiserver, "POST", SVCS, fixed)
    assert code == 422
    assert body["message"] == (
        'Service "alloc-np3" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
        "provided port is already allocated"
    )
    # NodePort -> ClusterIP gives the port back; so does a delete
    patch = {"spec": {"type": "ClusterIP", "ports": [{"port": 80, "targetPort": 8080}]}}
    pool = urllib3.PoolManager(ca_certs=apiserver.ca, cert_reqs="CERT_REQUIRED")
    r = pool.request(
        "PATCH", apiserver.url + f"{SVCS}/alloc-np2", body=json.dumps(patch).encode(),
        headers={"Authorization": f"Bearer {apiserver.token}",
                 "Content-Type": "application/merge-patch+json"},
    )  # fmt: skip
    assert r.status == 200 and "nodePort" not in json.loads(r.data)["spec"]["ports"][0]
    assert call(apiserver, "POST", SVCS, fixed)[0] == 201
    call(apiserver, "DELETE", f"{SVCS}/alloc-np3")
    fixed["metadata"]["name"] = "alloc-np4"
    assert call(apiserver, "POST", SVCS, fixed)[0] == 201


def test_the_kubernetes_service_and_its_endpoints(apiserver: APIServerProcess) -> None:
    out = apiserver.kubectl("get", "svc", "kubernetes", "--no-headers").stdout.split()
    assert out[:5] == ["kubernetes", "ClusterIP", "10.0.0.1", "<none>", "443/TCP"]
    port = int(apiserver.url.rsplit(":", 1)[1])
    code, ep = call(apiserver, "GET", "/api/v1/namespaces/default/endpoints/kubernetes")
    assert code == 200 and ep["subsets"] == [
        {
            "addresses": [{"ip": "127.0.0.1"}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        }
    ]
    slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes"
    code, sl = call(apiserver, "GET", slices)
    assert code == 200 and sl["endpoints"][0]["addresses"] == ["127.0.0.1"]
    assert sl["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    code, s = call(apiserver, "GET", f"{SVCS}/kubernetes")
    assert s["spec"]["ports"] == [
        {"name": "https", "protocol": "TCP", "port": 443, "targetPort": port}
    ]
    assert call(apiserver, "DELETE", f"{SVCS}/kubernetes")[0] == 200
    deadline = time.monotonic() + 20
    while call(apiserver, "GET", f"{SVCS}/kubernetes")[0] != 200:
        assert time.monotonic() < deadline, "the kubernetes Service did not come back"
        time.sleep(0.2)
    assert call(apiserver, "GET", f"{SVCS}/kubernetes")[1]["spec"]["clusterIP"] == "10.0.0.1"


def test_allocations_survive_a_restart(second_apiserver: RestartableAPIServer) -> None:
    code, a = call(second_apiserver.proc, "POST", SVCS, svc("alloc-r1", type_="NodePort"))
    assert code == 201
    second_apiserver.restart()
    p = second_apiserver.proc
    ip, node_port = a["spec"]["clusterIP"], a["spec"]["ports"][0]["nodePort"]
    code, body = call(p, "POST", SVCS, svc("alloc-r2", ip))
    assert code == 422 and "provided IP is already allocated" in body["message"]
    again = svc("alloc-r3", type_="NodePort")
    again["spec"]["ports"][0]["nodePort"] = node_port
    code, body = call(p, "POST", SVCS, again)
    assert code == 422 and "provided port is already allocated" in body["message"]
    assert call(p, "DELETE", f"{SVCS}/alloc-r1")[0] == 200
    assert call(p, "POST", SVCS, svc("alloc-r2", ip))[0] == 201
