"""Loading and validating a bundle's config.json.

Mirrors runc's spec.go loadSpec, utils_linux.go validateProcessSpec and
libcontainer/configs/validate/validator.go (rootfs, namespaces, hostname,
sysctl checks), with their messages. Pure except reading the bundle.
Omitted: SELinux/AppArmor/intelRdt validation, rootless checks.
"""

from __future__ import annotations

import os

from minicontainer.libcontainer import fastjson
from minicontainer.libcontainer.errors import ContainerError
from minicontainer.libcontainer.namespaces import validate_namespaces

SPEC_CONFIG = "config.json"


def load_spec(bundle: str) -> dict:
    path = os.path.join(bundle, SPEC_CONFIG)
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        raise ContainerError(f"JSON specification file {SPEC_CONFIG} not found") from None
    try:
        spec = fastjson.loads(text)
    except ValueError as e:  # json.JSONDecodeError
        raise ContainerError(_go_json_error(e, text)) from None
    if not isinstance(spec, dict):
        raise ContainerError("json: cannot unmarshal into Go value of type specs.Spec")
    return spec


_GO_CONTEXT = {
    "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
    "Expecting value": "looking for beginning of value",
    "Expecting ':' delimiter": "after object key",
    "Expecting ',' delimiter": "after object key:value pair",
}


def _go_json_error(e, text: str) -> str:
    """Word a decode error like Go's encoding/json SyntaxError, which runc prints."""
    if getattr(e, "pos", len(text)) >= len(text):
        return "unexpected end of JSON input"
    context = _GO_CONTEXT.get(e.msg, "in JSON input")
    return f"invalid character {text[e.pos]!r} {context}"


def validate_process(proc: dict | None) -> None:
    """utils_linux.go validateProcessSpec."""
    if not proc:
        raise ContainerError("process property must not be empty")
    if not proc.get("cwd"):
        raise ContainerError("Cwd property must not be empty")
    if proc.get("selinuxLabel") and not os.path.exists("/sys/fs/selinux/enforce"):
        raise ContainerError(
            "selinux label is specified in config, but selinux is disabled or not supported"
        )
    if not proc["cwd"].startswith("/"):
        raise ContainerError("Cwd must be an absolute path")
    if not proc.get("args"):
        raise ContainerError("args must not be empty")


def rootfs_path(spec: dict, bundle: str) -> str:
    """The absolute rootfs, checked like validator.go rootfs()."""
    root = (spec.get("root") or {}).get("path")
    if not root:
        raise ContainerError("root must be specified")
    path = os.path.normpath(root if root.startswith("/") else os.path.join(bundle, root))
    if not os.path.exists(path):
        raise ContainerError(f"invalid rootfs: stat {path}: no such file or directory")
    if os.path.realpath(path) != os.path.normpath(path):
        raise ContainerError("invalid rootfs: not an absolute path, or a symlink")
    return path


def validate(spec: dict, bundle: str) -> str:
    """All checks `create` makes before touching anything; returns the rootfs."""
    validate_process(spec.get("process"))
    linux = spec.get("linux")
    if linux is None:
        raise ContainerError("linux section is required")
    namespaces = linux.get("namespaces") or []
    validate_namespaces(namespaces)
    types = {n["type"] for n in namespaces}
    if spec.get("hostname") and "uts" not in types:
        raise ContainerError("unable to set hostname without a private UTS namespace")
    if (linux.get("uidMappings") or linux.get("gidMappings")) and "user" not in types:
        raise ContainerError("user namespaces aren't enabled in the kernel")
    if "user" in types and not linux.get("uidMappings"):
        raise ContainerError("user namespace enabled, but no uid mappings found")
    for key in linux.get("sysctl") or {}:
        if key.startswith("net.") and "network" not in types:
            raise ContainerError(f"sysctl {key!r} not allowed in host network namespace")
    return rootfs_path(spec, bundle)
