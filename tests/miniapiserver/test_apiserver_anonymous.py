"""Anonymous requests: `--anonymous-auth`, as kube-apiserver decides it.

Without credentials a request is `system:anonymous` in `system:unauthenticated`
when anonymous auth is on; a bearer token that fails is still 401 (upstream's
union.NewFailOnError); authenticated users get `system:authenticated` once; and the
AlwaysAllow authorizer turns anonymous auth off with upstream's warning. The live
checks (403 from RBAC with upstream's message, /healthz, /livez, /readyz and
/version open through system:public-info-viewer, kubectl without credentials) run
against the RBAC server of test_apiserver_rbac.py, which keeps the flag's default.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from miniapiserver.__main__ import build_config, parse_args
from miniapiserver.auth.authn import (
    ANONYMOUS,
    Authenticator,
    UserInfo,
    anonymous_allowed,
    bearer_token,
)

TOKENS = {"good": UserInfo("alice", "u1", ("devs",))}


def test_no_credentials_is_anonymous_only_when_allowed() -> None:
    on, off = Authenticator(TOKENS, anonymous=True), Authenticator(TOKENS)
    assert on.authenticate(None, None) == UserInfo(
        "system:anonymous", "", ("system:unauthenticated",)
    )
    assert off.authenticate(None, None) is None
    # not a bearer token (e.g. Basic): no credentials this server knows, so anonymous
    assert on.authenticate("Basic YTpi", None) is ANONYMOUS


def test_a_refused_bearer_token_is_never_anonymous() -> None:
    on = Authenticator(TOKENS, anonymous=True)
    assert on.authenticate("Bearer wrong", None) is None
    assert on.authenticate("bearer good", None) == UserInfo(
        "alice", "u1", ("devs", "system:authenticated")
    )


def test_x509_users_are_authenticated_and_groups_added_once() -> None:
    cert = {"subject": ((("commonName", "bob"),), (("organizationName", "ops"),))}
    user = Authenticator(anonymous=True).authenticate(None, cert)
    assert user == UserInfo("bob", "", ("ops", "system:authenticated"))
    already = Authenticator({"t": UserInfo("x", "", ("system:authenticated",))})
    assert already.authenticate("Bearer t", None).groups == ("system:authenticated",)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("header", "token"),
    [(None, ""), ("Bearer abc", "abc"), ("bearer  abc", ""), ("Bearer", ""), ("Basic x", "")],
)
def test_bearer_token_parsing(header: str | None, token: str) -> None:
    assert bearer_token(header) == token


def test_always_allow_turns_anonymous_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert anonymous_allowed(True, ("AlwaysAllow",)) is False
    assert (
        "AnonymousAuth is not allowed with the AlwaysAllow authorizer. Resetting AnonymousAuth "
        "to false. You should use a different authorizer" in caplog.text
    )
    assert anonymous_allowed(True, ("RBAC",)) is True
    assert anonymous_allowed(True, ("RBAC", "AlwaysAllow")) is False
    assert anonymous_allowed(False, ("RBAC",)) is False


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One --data-dir for the flag cases: its generated credentials are made once."""
    return tmp_path_factory.mktemp("anonymous-flags")


@pytest.mark.parametrize(
    ("flags", "anonymous"),
    [
        ([], False),  # default AlwaysAllow: reset, as upstream
        (["--authorization-mode", "RBAC"], True),  # the flag's default is true
        (["--authorization-mode", "RBAC", "--anonymous-auth=false"], False),
        (["--authorization-mode", "RBAC", "--anonymous-auth", "false"], False),
        (["--authorization-mode", "RBAC", "--anonymous-auth"], True),
    ],
)
def test_anonymous_auth_flag(data_dir: Path, flags: list[str], anonymous: bool) -> None:
    config, _ = build_config(parse_args(["--data-dir", str(data_dir), *flags]))
    assert config.authenticator is not None
    assert config.authenticator.anonymous is anonymous
