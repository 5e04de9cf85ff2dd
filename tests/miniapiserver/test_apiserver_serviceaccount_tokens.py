"""ServiceAccount tokens and the ServiceAccount admission plugin.

`kubectl create token` (kubectl 1.32 posts the TokenRequest as protobuf) returns an RS256
JWT signed with the server's key; the same server's authenticator turns it back into
system:serviceaccount:<ns>:<name> with the system:serviceaccounts groups
(`kubectl auth whoami` shows them). Tokens for another audience, of a deleted
ServiceAccount, expired, tampered with or from another issuer are refused. The
ServiceAccount admission plugin (enabled by flag on a server of its own) defaults
serviceAccountName, refuses pods whose ServiceAccount is missing and mounts the
projected kube-api-access-xxxxx volume. Cases restate pkg/serviceaccount/jwt_test.go and
plugin/pkg/admission/serviceaccount/admission_test.go in our words.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from miniapiserver import __main__ as apiserver_main
from miniapiserver.serviceaccount import claims as sa_claims
from miniapiserver.serviceaccount.jwt import TokenAuthenticator, TokenGenerator, key_id

ISSUER = "https://kubernetes.default.svc.cluster.local"
SA = {"metadata": {"name": "builder", "namespace": "ci", "uid": "u-1"}}
POD = {"metadata": {"name": "web", "namespace": "ci", "uid": "p-1"}}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def authenticator(key, objects, issuer=ISSUER, audiences=(ISSUER,)):  # type: ignore[no-untyped-def]
    def lookup(kind: str, ns: str, name: str):  # type: ignore[no-untyped-def]
        return objects.get((kind, ns, name))

    return TokenAuthenticator([issuer], [key.public_key()], audiences, lookup)


def test_token_round_trip_and_refusals(key) -> None:  # type: ignore[no-untyped-def]
    gen = TokenGenerator(ISSUER, key)
    objects = {("ServiceAccount", "ci", "builder"): SA, ("Pod", "ci", "web"): POD}
    auth = authenticator(key, objects)
    now = 1_800_000_000
    token = gen.generate_token(sa_claims.claims(SA, [ISSUER], 3600, now, ("Pod", POD)))
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "RS256", "kid": key_id(key.public_key())}
    user = auth.authenticate_token(token, now + 10)
    assert user is not None and user.name == "system:serviceaccount:ci:builder"
    assert user.uid == "u-1" and user.groups == (
        "system:serviceaccounts",
        "system:serviceaccounts:ci",
    )
    # expiry has upstream's one-minute leeway
    assert auth.authenticate_token(token, now + 3600 + 59) is not None
    assert auth.authenticate_token(token, now + 3600 + 61) is None
    # a flipped byte in the payload breaks the signature
    head, body, sig = token.split(".")
    assert auth.authenticate_token(f"{head}.{body[:-2]}AA.{sig}", now) is None
    assert (
        authenticator(key, objects, issuer="https://other").authenticate_token(token, now) is None
    )
    assert authenticator(key, objects, audiences=("vault",)).authenticate_token(token, now) is None
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert authenticator(other, objects).authenticate_token(token, now) is None
    # the ServiceAccount or the bound pod gone (or recreated with a new uid): refused
    assert authenticator(key, {("ServiceAccount", "ci", "builder"): SA}).authenticate_token(token, now) is None  # fmt: skip
    recreated = {**objects, ("ServiceAccount", "ci", "builder"): {"metadata": {**SA["metadata"], "uid": "u-2"}}}  # fmt: skip
    assert authenticator(key, recreated).authenticate_token(token, now) is None
    assert auth.authenticate_token("not-a-jwt", now) is None


def test_kubectl_create_token_and_whoami(apiserver) -> None:  # type: ignore[no-untyped-def]
    ns = f"tok-{uuid.uuid4().hex[:6]}"
    apiserver.kubectl("create", "namespace", ns)
    apiserver.kubectl("create", "serviceaccount", "builder", "-n", ns)
    token = apiserver.kubectl("create", "token", "builder", "-n", ns).stdout.strip()
    out = apiserver.kubectl("auth", "whoami", "--token", token, "-o", "json")
    status = json.loads(out.stdout)["status"]["userInfo"]
    assert status["username"] == f"system:serviceaccount:{ns}:builder"
    assert status["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]  # fmt: skip
    out = apiserver.kubectl("create", "token", "builder", "-n", ns, "--duration", "5m", check=False)
    assert out.stderr.strip() == (
        'error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: '
        "spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes"
    )
    out = apiserver.kubectl("create", "token", "nobody", "-n", ns, check=False)
    assert out.stderr.strip() == 'error: failed to create token: serviceaccounts "nobody" not found'
    foreign = apiserver.kubectl("create", "token", "builder", "-n", ns, "--audience", "vault").stdout.strip()  # fmt: skip
    out = apiserver.kubectl("get", "pods", "-n", ns, "--token", foreign, check=False)
    assert out.returncode == 1 and "error: You must be logged in to the server" in out.stderr
    # a token bound to a pod lives as long as the pod
    apiserver.kubectl("run", "worker", "-n", ns, "--image=busybox")
    bound = apiserver.kubectl("create", "token", "builder", "-n", ns, "--bound-object-kind", "Pod",
                              "--bound-object-name", "worker").stdout.strip()  # fmt: skip
    assert apiserver.kubectl("auth", "whoami", "--token", bound).returncode == 0
    apiserver.kubectl("delete", "pod", "worker", "-n", ns, "--grace-period=0", "--wait=false")
    out = apiserver.kubectl("auth", "whoami", "--token", bound, check=False)
    assert out.returncode == 1 and "You must be logged in to the server" in out.stderr
    out = apiserver.kubectl("create", "token", "builder", "-n", ns, "--bound-object-kind", "Pod",
                            "--bound-object-name", "gone", check=False)  # fmt: skip
    assert out.stderr.strip() == 'error: failed to create token: pods "gone" not found'
    apiserver.kubectl("delete", "serviceaccount", "builder", "-n", ns)
    out = apiserver.kubectl("auth", "whoami", "--token", token, check=False)
    assert out.returncode == 1 and "You must be logged in to the server" in out.stderr


def test_admission_flags_are_checked_at_start(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["--enable-admission-plugins=Nope,AlwaysDeny", "--disable-admission-plugins=AlwaysDeny",
            "--data-dir", str(tmp_path)]  # fmt: skip
    assert apiserver_main.main(args) == 1
    assert capsys.readouterr().err.strip() == (
        'Error: enable-admission-plugins plugin "Nope" is unknown; '
        "[AlwaysDeny] in enable-admission-plugins and disable-admission-plugins overlapped"
    )


def test_service_account_admission(second_apiserver) -> None:  # type: ignore[no-untyped-def]
    """On the second server: --enable-admission-plugins=ServiceAccount, not-ready 60 s."""
    k = second_apiserver.proc.kubectl
    k("create", "namespace", "team")
    out = k("run", "p", "-n", "team", "--image=busybox", check=False)
    assert out.stderr.strip() == (
        'Error from server (Forbidden): pods "p" is forbidden: error looking up service account '
        'team/default: serviceaccount "default" not found'
    )
    k("create", "serviceaccount", "default", "-n", "team")
    k("run", "p", "-n", "team", "--image=busybox")
    pod = json.loads(k("get", "pod", "p", "-n", "team", "-o", "json").stdout)
    spec = pod["spec"]
    assert spec["serviceAccountName"] == "default"
    [vol] = spec["volumes"]
    assert vol["name"].startswith("kube-api-access-")
    assert [s for s in vol["projected"]["sources"] if "serviceAccountToken" in s] == [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    ]
    assert spec["containers"][0]["volumeMounts"] == [
        {"name": vol["name"], "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
    ]  # fmt: skip
    assert {t["key"]: t["tolerationSeconds"] for t in spec["tolerations"]} == {
        "node.kubernetes.io/not-ready": 60,
        "node.kubernetes.io/unreachable": 300,
    }
    # automountServiceAccountToken: false on the ServiceAccount keeps the token out
    k("create", "serviceaccount", "quiet", "-n", "team")
    k(
        "patch",
        "serviceaccount",
        "quiet",
        "-n",
        "team",
        "-p",
        '{"automountServiceAccountToken": false}',
    )
    k(
        "run",
        "q",
        "-n",
        "team",
        "--image=busybox",
        "--overrides",
        '{"spec": {"serviceAccountName": "quiet"}}',
    )
    pod = json.loads(k("get", "pod", "q", "-n", "team", "-o", "json").stdout)
    assert "volumes" not in pod["spec"] and pod["spec"]["serviceAccountName"] == "quiet"
