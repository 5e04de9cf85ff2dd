"""Build an image from a Dockerfile: each COPY/RUN adds a layer, the rest edits the config.

Mirrors BuildKit's frontend/dockerfile/dockerfile2llb/convert.go (dispatch per instruction:
dispatchRun, dispatchCopy, dispatchEnv, dispatchWorkdir, … on a per-stage state; stages
by name for `COPY --from`) and solver/cache keys (a step's key is its parent's key plus
the instruction and its inputs, so a re-build with no change re-uses every layer).
RUN steps run in a container: an overlay snapshot on the current layers is mounted as
the bundle's rootfs, the runtime CLI runs the command, and the upper directory becomes
the new layer (its whiteouts turned into `.wh.` entries).
Omitted: parallel stages, cache export/import, secrets and SSH mounts, RUN --mount.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from minicontainer.image import buildcontext as bc
from minicontainer.image import dockerfile as df
from minicontainer.image.archive import apply_layer, chain_ids
from minicontainer.image.bundle import make_spec, resolve_user, run_bundle
from minicontainer.image.config import empty_config, layer_from_dir, write_image
from minicontainer.image.layout import Layout
from minicontainer.image.manifest import Descriptor
from minicontainer.image.snapshotter import Snapshotter, mount_all, unmount
from minicontainer.image.unpack import unpack


class BuildError(Exception):
    pass


@dataclass
class StageState:
    config: dict
    layers: list[Descriptor] = field(default_factory=list)
    cache_key: str = ""
    args: dict = field(default_factory=dict)

    @property
    def chain(self) -> str | None:
        ids = chain_ids(self.config["rootfs"]["diff_ids"])
        return ids[-1] if ids else None

    def env(self) -> dict[str, str]:
        pairs = (e.partition("=") for e in self.config["config"].get("Env") or [])
        return {**self.args, **{k: v for k, _, v in pairs}}


class Builder:
    def __init__(
        self, layout: Layout, snapshotter: Snapshotter, runtime: str, state_root: str, log=print
    ):
        self.layout, self.snap, self.runtime, self.state_root = (
            layout,
            snapshotter,
            runtime,
            state_root,
        )
        self.log = log
        self.cache_path = layout.root / "buildcache.json"
        self.new_layers = 0  # layers this build had to create (0 on a fully cached build)

    def build(
        self, context: Path, text: str, tag: str | None, build_args: dict[str, str]
    ) -> Descriptor:
        meta, stages = df.parse(text)
        global_args = {}
        for ins in meta:
            for k, v in df.key_values(ins.args[0], global_args):
                global_args[k] = build_args.get(k, v)
        done: dict[str, StageState] = {}
        state = None
        for i, stage in enumerate(stages):
            state = self._from(df.expand(stage.base, global_args), done)
            state.args = dict(global_args)
            for n, ins in enumerate(stage.instructions, 1):
                self.log(f"#{i}.{n} {ins.original}")
                self._dispatch(state, ins, context, build_args, done)
            done[stage.name or str(i)] = state
            done[str(i)] = state
        return write_image(self.layout, state.config, state.layers, tag)

    def _from(self, base: str, done: dict[str, StageState]) -> StageState:
        if base.lower() in done:
            return copy.deepcopy(done[base.lower()])
        if base == "scratch":
            return StageState(empty_config(), cache_key="scratch")
        desc = self.layout.resolve(base)
        _m, cdesc, layers = self.layout.image(desc)
        unpack(self.layout, self.snap, base)
        config = json.loads(self.layout.content.read(cdesc.digest))
        config.setdefault("history", [])
        config.setdefault("config", {})
        return StageState(config, list(layers), cache_key=desc.digest)

    def _dispatch(
        self, st: StageState, ins: df.Instruction, context: Path, build_args, done
    ) -> None:
        cfg = st.config["config"]
        env = st.env()
        word = ins.args[0] if not ins.json_form else ""
        if ins.cmd in ("run", "copy", "add"):
            self._layer_step(st, ins, context, done)
            return
        if ins.cmd == "env":
            merged = dict(e.partition("=")[::2] for e in cfg.get("Env") or [])
            merged.update(df.key_values(word, env))
            cfg["Env"] = [f"{k}={v}" for k, v in merged.items()]
        elif ins.cmd == "arg":
            for k, v in df.key_values(word, env) if "=" in word else [(word.strip(), "")]:
                st.args[k] = build_args.get(k, v or st.args.get(k, ""))
        elif ins.cmd == "workdir":
            cfg["WorkingDir"] = os.path.join(cfg.get("WorkingDir") or "/", df.expand(word, env))
        elif ins.cmd == "user":
            cfg["User"] = df.expand(word, env)
        elif ins.cmd == "expose":
            ports = cfg.setdefault("ExposedPorts", {})
            for p in df.expand(word, env).split():
                ports[p if "/" in p else p + "/tcp"] = {}
        elif ins.cmd == "label":
            st.config["config"].setdefault("Labels", {}).update(df.key_values(word, env))
        elif ins.cmd in ("cmd", "entrypoint"):
            cfg["Cmd" if ins.cmd == "cmd" else "Entrypoint"] = df.command_words(ins)
            if ins.cmd == "entrypoint":
                cfg.pop("Cmd", None)  # Dockerfile reference: ENTRYPOINT resets an inherited CMD
        # like an LLB graph, metadata is not a vertex: only the steps that read it (a RUN's
        # env, a COPY's destination) put it into their own cache keys
        st.config["history"].append({"created_by": ins.original, "empty_layer": True})

    # layer steps -----------------------------------------------------------------
    def _layer_step(self, st: StageState, ins: df.Instruction, context: Path, done) -> None:
        if ins.cmd == "run":
            inputs = json.dumps(
                [st.env(), st.config["config"].get("WorkingDir"), st.config["config"].get("User")],
                sort_keys=True,
            )
            key = _key(st.cache_key, ins.original, inputs)
            make = lambda k: self._run(st, ins, k)  # noqa: E731
        else:
            with self._copy_source(ins, context, done) as (root, patterns):
                words = [
                    df.expand(w, st.env())
                    for w in (ins.args if ins.json_form else ins.args[0].split())
                ]
                if len(words) < 2:
                    raise BuildError(f"{ins.cmd.upper()} requires at least two arguments")
                sources = bc.resolve_sources(root, patterns, words[:-1])
                inputs = [words, st.config["config"].get("WorkingDir"), ins.flag("chown")]
                inputs.append(bc.hash_sources(sources, root, patterns))
                key = _key(st.cache_key, ins.original, json.dumps(inputs))
                cached = self._cached(key)
                if cached is None:
                    self._new_layer(
                        st, key, lambda k: self._copy(st, ins, k, root, patterns, sources, words)
                    )
                else:
                    self._reuse(st, key, cached)
            return
        cached = self._cached(key)
        if cached is None:
            self._new_layer(st, key, make)
        else:
            self._reuse(st, key, cached)

    def _new_layer(self, st: StageState, key: str, make) -> None:
        snap_key = f"build-{uuid.uuid4().hex[:12]}"
        parent = st.chain
        self.snap.prepare(snap_key, parent)
        try:
            created_by = make(snap_key)
            layer = layer_from_dir(self.layout, st.config, self.snap.fs_dir(snap_key), created_by)
        except BaseException:
            self.snap.remove(snap_key)
            raise
        st.layers.append(layer)
        chain = st.chain
        if self.snap.exists(chain):
            self.snap.remove(snap_key)
        else:
            self.snap.commit(chain, snap_key)
        self._remember(key, layer, st.config["rootfs"]["diff_ids"][-1], created_by)
        st.cache_key = key
        self.new_layers += 1

    def _reuse(self, st: StageState, key: str, cached: dict) -> None:
        self.log("CACHED")
        layer = Descriptor.from_json(cached["layer"])
        parent = st.chain
        st.layers.append(layer)
        st.config["rootfs"]["diff_ids"].append(cached["diff_id"])
        st.config["history"].append({"created_by": cached["created_by"]})
        if not self.snap.exists(st.chain):
            tmp = f"reuse-{uuid.uuid4().hex[:12]}"
            self.snap.prepare(tmp, parent)
            apply_layer(self.layout.content.path(layer.digest), self.snap.fs_dir(tmp))
            self.snap.commit(st.chain, tmp)
        st.cache_key = key

    def _cached(self, key: str) -> dict | None:
        cache = json.loads(self.cache_path.read_text()) if self.cache_path.exists() else {}
        hit = cache.get(key)
        if hit and self.layout.content.exists(hit["layer"]["digest"]):
            return hit
        return None

    def _remember(self, key: str, layer: Descriptor, diff_id: str, created_by: str) -> None:
        cache = json.loads(self.cache_path.read_text()) if self.cache_path.exists() else {}
        cache[key] = {"layer": layer.to_json(), "diff_id": diff_id, "created_by": created_by}
        tmp = self.cache_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        os.replace(tmp, self.cache_path)

    def _run(self, st: StageState, ins: df.Instruction, snap_key: str) -> str:
        argv = df.command_words(ins)
        with tempfile.TemporaryDirectory(prefix="mc-build-") as tmp:
            bundle = Path(tmp)
            rootfs = bundle / "rootfs"
            rootfs.mkdir()
            mount_all(self.snap.mounts(snap_key), rootfs)
            try:
                workdir = st.config["config"].get("WorkingDir") or "/"
                os.makedirs(rootfs / workdir.lstrip("/"), exist_ok=True)
                run_cfg = copy.deepcopy(st.config)
                run_cfg["config"]["Env"] = [f"{k}={v}" for k, v in st.env().items()]
                spec = make_spec(run_cfg, argv, rootfs)
                cid = f"build-{uuid.uuid4().hex[:12]}"
                rc = run_bundle(self.runtime, self.state_root, bundle, cid, spec)
            finally:
                unmount(rootfs)
        if rc != 0:
            raise BuildError(
                f'process "{" ".join(argv)}" did not complete successfully: exit code: {rc}'
            )
        return ins.original

    def _copy(self, st, ins, snap_key, root, patterns, sources, words) -> str:
        upper = self.snap.fs_dir(snap_key)
        workdir = st.config["config"].get("WorkingDir") or "/"
        dest = os.path.join(workdir, words[-1])
        dest_is_dir = (
            words[-1].endswith("/") or len(sources) > 1 or (sources and sources[0].is_dir())
        )
        owner = None
        chown = ins.flag("chown")
        if chown:
            owner = resolve_user(self._merged_etc(snap_key), chown)
        bc.copy_sources(sources, root, patterns, upper / dest.lstrip("/"), dest_is_dir, owner)
        return ins.original

    def _merged_etc(self, snap_key: str) -> Path:
        """The nearest layer holding /etc/passwd: enough to resolve `--chown=name`."""
        for parent in self.snap.parents(snap_key):
            if (self.snap.fs_dir(parent) / "etc" / "passwd").is_file():
                return self.snap.fs_dir(parent)
        return self.snap.fs_dir(snap_key)

    def _copy_source(self, ins: df.Instruction, context: Path, done):
        return _Source(self, ins.flag("from"), context, done)


class _Source:
    """Context manager yielding (root, dockerignore patterns) for COPY: context or --from."""

    def __init__(self, builder: Builder, src: str | None, context: Path, done) -> None:
        self.b, self.src, self.context, self.done = builder, src, context, done
        self.mounted: Path | None = None
        self.view: str | None = None

    def __enter__(self) -> tuple[Path, list[str]]:
        if not self.src:
            return self.context, bc.read_dockerignore(self.context)
        state = self.done.get(self.src.lower()) or self.b._from(self.src, self.done)
        self.mounted = Path(tempfile.mkdtemp(prefix="mc-from-"))
        if state.chain:
            self.view = f"view-{uuid.uuid4().hex[:12]}"
            self.b.snap.view(self.view, state.chain)
            mount_all(self.b.snap.mounts(self.view), self.mounted)
        return self.mounted, []

    def __exit__(self, *exc) -> None:
        if self.mounted is not None:
            if self.view:
                unmount(self.mounted)
                self.b.snap.remove(self.view)
            shutil.rmtree(self.mounted, ignore_errors=True)


def _key(parent: str, instruction: str, inputs: str) -> str:
    return "sha256:" + hashlib.sha256(f"{parent}\n{instruction}\n{inputs}".encode()).hexdigest()
