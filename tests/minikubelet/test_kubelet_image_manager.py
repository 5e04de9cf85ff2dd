"""Image references, pull policies, the pull back-off and the image config merge.

References follow distribution/reference's normalize tests; the image manager runs over a
real ImageService in a temporary store (busybox is fabricated locally, an unreachable
registry port gives real connection errors), with the back-off driven by explicit times.
"""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from miniapi.core import v1
from miniapi.meta import v1 as metav1
from minikubelet import expansion, oci_spec
from minikubelet import image_manager as im
from minikubelet.backoff import Backoff
from minikubelet.images import ImageService, plain_http_allowed
from minikubelet.kuberuntime_container import make_environment_variables
from minikubelet.reference import InvalidReference, parse_normalized_named


@pytest.mark.parametrize(
    ("text", "full", "familiar"),
    [
        ("busybox", "docker.io/library/busybox", "busybox"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("index.docker.io/busybox", "docker.io/library/busybox", "busybox"),
        ("docker.io/demo/web:1", "docker.io/demo/web:1", "demo/web:1"),
        ("localhost/foo", "localhost/foo", "localhost/foo"),
        ("127.0.0.1:5000/demo/web:1", "127.0.0.1:5000/demo/web:1", "127.0.0.1:5000/demo/web:1"),
        ("foo.com:8080/a/b@sha256:" + "ab" * 32, "foo.com:8080/a/b@sha256:" + "ab" * 32, None),
    ],
)
def test_parse_normalized_named(text: str, full: str, familiar: str | None) -> None:
    named = parse_normalized_named(text)
    assert str(named) == full
    assert named.familiar_string() == (familiar or full)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo/Bar", "invalid reference format: repository name must be lowercase"),
        ("Busybox", "invalid reference format: repository name must be lowercase"),
        ("a" * 64, f"invalid repository name ({'a' * 64}), cannot specify 64-byte hexadecimal "
         "strings"),
        ("foo:", "invalid reference format"),
        ("foo::bar", "invalid reference format"),
    ],
)  # fmt: skip
def test_parse_errors_use_upstream_text(text: str, message: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_normalized_named(text)
    assert str(info.value) == message


alnum = st.text(alphabet="abz09", min_size=1, max_size=4)
component = st.builds(lambda a, sep, b: a + sep + b, alnum,
                      st.sampled_from(["", ".", "_", "__", "-", "--"]), alnum)  # fmt: skip
tags = st.one_of(st.just(""), st.builds(lambda a, b: a + b, st.sampled_from("a_9"),
                                        st.text(alphabet="aZ9.-_", max_size=6)))  # fmt: skip


@given(
    domain=st.sampled_from(["", "localhost:5000/", "127.0.0.1:5000/", "reg.example/"]),
    path=st.lists(component, min_size=1, max_size=3),
    tag=tags,
)
def test_normalizing_twice_changes_nothing(domain: str, path: list[str], tag: str) -> None:
    text = domain + "/".join(path) + (f":{tag}" if tag else "")
    named = parse_normalized_named(text)
    assert parse_normalized_named(str(named)) == named
    assert parse_normalized_named(named.familiar_string()) == named


def test_default_pull_policy_and_should_pull() -> None:
    assert im.default_pull_policy("busybox") == "Always"
    assert im.default_pull_policy("busybox:latest") == "Always"
    assert im.default_pull_policy("127.0.0.1:5000/demo/web") == "Always"
    assert im.default_pull_policy("127.0.0.1:5000/demo/web:1") == "IfNotPresent"
    assert im.default_pull_policy("busybox@sha256:" + "a" * 64) == "IfNotPresent"
    table = {("Always", True): True, ("Always", False): True, ("IfNotPresent", True): False,
             ("IfNotPresent", False): True, ("Never", True): False, ("Never", False): False}  # fmt: skip
    for (policy, present), want in table.items():
        assert im.should_pull_image(policy, present) is want
    assert im.apply_default_image_tag("busybox") == "busybox:latest"
    assert im.apply_default_image_tag("127.0.0.1:5000/a/b") == "127.0.0.1:5000/a/b:latest"
    assert im.apply_default_image_tag("a/b@sha256:" + "c" * 64) == "a/b@sha256:" + "c" * 64


def test_go_duration() -> None:
    assert [im.go_duration(s) for s in (0, 0.0004, 0.313, 1.5941, 12.0, 62.5, 3600)] == [
        "0s", "0s", "313ms", "1.594s", "12s", "1m2.5s", "1h0m0s"]  # fmt: skip


def test_plain_http_registries() -> None:
    assert plain_http_allowed("127.0.0.1:5000", [])
    assert plain_http_allowed("127.8.9.1", [])
    assert plain_http_allowed("localhost:5000", [])
    assert not plain_http_allowed("docker.io", [])
    assert not plain_http_allowed("10.0.0.5:5000", [])
    assert plain_http_allowed("10.0.0.5:5000", ["10.0.0.5:5000"])
    assert plain_http_allowed("registry.lan:5000", ["registry.lan"])


def pod(uid: str = "u1") -> v1.Pod:
    return v1.Pod(metadata=metav1.ObjectMeta(name="p", namespace="default", uid=uid))


def container(image: str, policy: str = "") -> v1.Container:
    return v1.Container(name="c", image=image, image_pull_policy=policy)


class Clock:
    """Pull durations: each call advances 1.5 s."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.5
        return self.t


def test_pull_policies_over_a_real_store(tmp_path) -> None:
    service = ImageService(str(tmp_path / "store"))
    manager = im.ImageManager(service, Backoff(), clock=Clock())
    events: list = []
    ref, reason, msg = manager.ensure_image_exists(
        pod(), container("busybox:1", "Never"), 0, events
    )
    assert (ref, reason) == ("", "ErrImageNeverPull")
    assert msg == 'Container image "busybox:1" is not present with pull policy of Never'
    assert events == [("Warning", "ErrImageNeverPull", msg)]
    events = []
    ref, reason, _ = manager.ensure_image_exists(pod(), container("busybox:1"), 0, events)
    size = service.image_status("busybox:1").size
    assert reason == "" and ref.startswith("docker.io/library/busybox@sha256:")
    assert events == [
        ("Normal", "Pulling", 'Pulling image "busybox:1"'),
        ("Normal", "Pulled", 'Successfully pulled image "busybox:1" in 1.5s (1.5s including '
         f"waiting). Image size: {size} bytes."),
    ]  # fmt: skip
    for policy in ("IfNotPresent", "Never"):
        events = []
        again, reason, _ = manager.ensure_image_exists(pod(), container("busybox:1", policy), 0,
                                                       events)  # fmt: skip
        assert (again, reason) == (ref, "")
        assert events == [("Normal", "Pulled", 'Container image "busybox:1" already present on '
                           "machine")]  # fmt: skip
    events = []
    manager.ensure_image_exists(pod(), container("busybox:1", "Always"), 0, events)
    assert [e[1] for e in events] == ["Pulling", "Pulled"]
    names = [n for i in service.list_images() for n in i.repo_tags]
    assert names == ["docker.io/library/busybox:1"]


def test_invalid_image_name() -> None:
    manager = im.ImageManager(None, Backoff())  # the name is refused before any lookup
    events: list = []
    _, reason, msg = manager.ensure_image_exists(pod(), container("Busybox"), 0, events)
    assert reason == "InvalidImageName"
    assert msg == ('Failed to apply default image tag "Busybox": couldn\'t parse image name '
                   '"Busybox": invalid reference format: repository name must be lowercase')  # fmt: skip
    assert events == [("Warning", "InspectFailed", msg)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_err_image_pull_then_back_off_doubling(tmp_path) -> None:
    image = f"127.0.0.1:{closed_port()}/demo/web:1"
    manager = im.ImageManager(ImageService(str(tmp_path / "store")), Backoff(), clock=Clock())
    uid_image = pod(), container(image)
    pulls = []
    for now in range(0, 80):
        events: list = []
        _, reason, msg = manager.ensure_image_exists(*uid_image, float(now), events)
        if reason == "ErrImagePull":
            pulls.append(now)
            assert [e[1] for e in events] == ["Pulling", "Failed"]
            assert events[1][2].startswith(f'Failed to pull image "{image}": failed to pull and '
                                           f'unpack image "{image}": failed to resolve reference')  # fmt: skip
        else:
            assert reason == "ImagePullBackOff"
            assert msg.startswith(f'Back-off pulling image "{image}": ErrImagePull: failed to')
            assert [e[1] for e in events] == (["BackOff"] if now - 1 in pulls else [])
    assert pulls == [0, 10, 30, 70]  # 10 s, doubling


def test_https_registry_is_refused_without_network(tmp_path) -> None:
    manager = im.ImageManager(ImageService(str(tmp_path / "store")), Backoff())
    _, reason, msg = manager.ensure_image_exists(pod(), container("quay.io/a/b:1"), 0, [])
    assert reason == "ErrImagePull"
    assert msg == ('failed to pull and unpack image "quay.io/a/b:1": failed to resolve reference '
                   '"quay.io/a/b:1": registry quay.io needs HTTPS, which this node does not '
                   "speak: only plain-HTTP registries on 127.0.0.0/8 or named by "
                   "--insecure-registry are reachable")  # fmt: skip


@pytest.mark.parametrize(
    ("command", "args", "image", "want"),
    [
        ([], [], {"Entrypoint": ["/ep"], "Cmd": ["a"]}, ["/ep", "a"]),
        ([], ["b"], {"Entrypoint": ["/ep"], "Cmd": ["a"]}, ["/ep", "b"]),
        (["sh"], [], {"Entrypoint": ["/ep"], "Cmd": ["a"]}, ["sh"]),
        (["sh"], ["-c", "x"], {"Entrypoint": ["/ep"], "Cmd": ["a"]}, ["sh", "-c", "x"]),
        ([], [], {"Entrypoint": [""], "Cmd": ["a"]}, ["a"]),
        ([], ["b"], {}, ["b"]),
    ],
)
def test_process_args_as_containerd(command, args, image, want) -> None:
    assert oci_spec.process_args(command, args, image) == want


def test_no_command_at_all() -> None:
    with pytest.raises(oci_spec.SpecError, match="no command specified"):
        oci_spec.process_args([], [], {"Entrypoint": [""]})


def test_env_image_then_container() -> None:
    image = {"Env": ["PATH=/opt/bin", "PORT=8080", "A=1"]}
    env = oci_spec.process_env("web", image, ["PORT=9090", "B=2"])
    assert env == ["PATH=/opt/bin", "HOSTNAME=web", "PORT=9090", "A=1", "B=2"]
    assert oci_spec.process_env("h", {}, [])[0].startswith("PATH=/usr/local/sbin")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("$(VAR_A)", "A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)-$(VAR_A)", "A-A"),
        ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
        ("$$$(VAR_A)", "$A"),
        ("$$$$", "$$"),
        ("$(VAR_DNE)", "$(VAR_DNE)"),
        ("$(VAR_A", "$(VAR_A"),
        ("$VAR_A", "$VAR_A"),
        ("VAR_A)", "VAR_A)"),
        ("trailing $", "trailing $"),
    ],
)
def test_expansion_as_expand_go(text: str, want: str) -> None:
    assert expansion.expand(text, expansion.mapping_func_for({"VAR_A": "A", "VAR_B": "B"})) == want


def test_command_args_and_env_values_are_expanded() -> None:
    c = v1.Container(
        name="c", image="busybox", command=["sh", "-c", "echo $(GREETING)"], args=["$(PORT)"],
        env=[v1.EnvVar(name="PORT", value="8080"),
             v1.EnvVar(name="GREETING", value="port $(PORT), $(NOPE)")],
    )  # fmt: skip
    envs = make_environment_variables(pod(), c, "", "", {})
    assert envs == ["PORT=8080", "GREETING=port 8080, $(NOPE)"]
    assert expansion.expand_container_command_and_args(c.command, c.args, envs) == (
        ["sh", "-c", "echo port 8080, $(NOPE)"], ["8080"])  # fmt: skip
