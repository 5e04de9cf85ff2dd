"""kubeconfig loading rules (tools/clientcmd loader_test.go, client_config_test.go)."""

from __future__ import annotations

import base64

import pytest

from miniclient.kubeconfig import ConfigError, build_config_from_flags, load_kubeconfig


def write(path, server: str, token: str, current: str = "ctx", ctx_name: str = "ctx") -> str:
    ca = base64.b64encode(b"CA-PEM").decode()
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: cl
  cluster: {{server: "{server}/", certificate-authority-data: {ca}}}
users:
- name: u
  user: {{token: {token}}}
contexts:
- name: {ctx_name}
  context: {{cluster: cl, user: u}}
current-context: "{current}"
"""
    )
    return str(path)


def test_current_context_picks_cluster_and_user(tmp_path):
    cfg = load_kubeconfig(write(tmp_path / "k", "https://127.0.0.1:6443", "tok"))
    assert cfg.host == "https://127.0.0.1:6443"
    assert cfg.bearer_token == "tok"
    assert cfg.ca_data == b"CA-PEM"


def test_kubeconfig_env_merges_with_the_first_file_winning(tmp_path, monkeypatch):
    first = write(tmp_path / "a", "https://first", "t1", current="")
    second = write(tmp_path / "b", "https://second", "t2", current="ctx")
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    cfg = build_config_from_flags()
    # current-context comes from the second file, the cluster named "cl" from the first.
    assert (cfg.host, cfg.bearer_token) == ("https://first", "t1")


def test_explicit_kubeconfig_beats_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", write(tmp_path / "a", "https://env", "t1"))
    explicit = write(tmp_path / "b", "https://flag", "t2")
    assert build_config_from_flags("", explicit).host == "https://flag"
    assert build_config_from_flags("https://master", explicit).host == "https://master"


def test_errors_name_what_is_missing(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_kubeconfig(str(tmp_path / "nope"))
    path = write(tmp_path / "k", "https://x", "t", current="other")
    with pytest.raises(ConfigError, match="context was not found for specified context: other"):
        load_kubeconfig(path)
    empty = write(tmp_path / "e", "https://x", "t", current="")
    with pytest.raises(ConfigError, match="no configuration has been provided"):
        load_kubeconfig(empty)
