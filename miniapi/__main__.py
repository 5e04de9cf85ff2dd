"""`python -m miniapi [PATH ...]`: the object model at work on manifests.

Decodes every manifest (YAML multi-document or JSON) under the given files or
directories (default: examples/manifests), applies upstream's defaults,
validates, and prints each object back as the API server would store it.
Then shows what an invalid object gets (the 422 Status), a few
resource.Quantity canonical forms, and label and field selectors matching
the pods.
Exit status: 0 when every manifest decodes and validates, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from miniapi import fields, labels, scheme
from miniapi.core import v1 as corev1
from miniapi.defaults import set_defaults
from miniapi.manifests import find_manifest_files, load_documents
from miniapi.meta import v1 as metav1
from miniapi.resource import Quantity
from miniapi.validation.validate import invalid_error, validate

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "examples" / "manifests"


def _load(console: Console, paths: list[str]) -> tuple[list[tuple[Path, Any]], bool]:
    objects: list[tuple[Path, Any]] = []
    ok = True
    for f in find_manifest_files(paths):
        try:
            docs = load_documents(f)
        except (OSError, ValueError, yaml.YAMLError) as e:
            console.print(f"[red]error:[/] {escape(f'{f}: {e}')}")
            ok = False
            continue
        for doc in docs:
            try:
                objects.append((f, scheme.decode(doc)))
            except ValueError as e:
                console.print(f"[red]error:[/] {escape(f'{f}: {e}')}")
                ok = False
    return objects, ok


def _summary(console: Console, objects: list[tuple[Path, Any]]) -> bool:
    table = Table(title="Decoded, defaulted and validated")
    for col in ("file", "kind", "namespace/name", "defaulted", "valid"):
        table.add_column(col, overflow="fold")
    ok = True
    for f, obj in objects:
        before = json.dumps(scheme.encode(obj), sort_keys=True)
        defaulted = set_defaults(obj)
        after = json.dumps(scheme.encode(defaulted), sort_keys=True)
        errs = validate(defaulted)
        ok = ok and not errs
        meta = obj.metadata
        name = f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name
        added = "yes" if before != after else "-"
        table.add_row(
            f.name,
            obj.api_version,
            obj.kind,
            name,
            added,
            "[green]yes[/]" if not errs else "[red]no[/]",
        )
    console.print(table)
    for _, obj in objects:
        errs = validate(set_defaults(obj))
        if errs:
            console.print(
                Syntax(json.dumps(scheme.encode(invalid_error(obj, errs).status), indent=2), "json")
            )
    return ok


def _print_back(console: Console, objects: list[tuple[Path, Any]]) -> None:
    for f, obj in objects:
        console.rule(f"{obj.kind} {obj.metadata.name}  ({f.name}, after defaulting)")
        text = yaml.safe_dump(scheme.encode(set_defaults(obj)), sort_keys=False)
        console.print(Syntax(text, "yaml"))


def _invalid_demo(console: Console) -> None:
    pod = corev1.Pod(
        metadata=metav1.ObjectMeta(name="Web_1", namespace="shop", labels={"app": "-web"}),
        spec=corev1.PodSpec(
            containers=[
                corev1.Container(
                    name="web", image="nginx", ports=[corev1.ContainerPort(container_port=70000)]
                ),
                corev1.Container(name="web"),
            ]
        ),
    )
    pod = set_defaults(pod)
    status = invalid_error(pod, validate(pod)).status
    console.rule("An invalid pod gets 422 Invalid, with one cause per field")
    console.print(Syntax(json.dumps(scheme.encode(status), indent=2), "json", word_wrap=True))


def _quantity_demo(console: Console) -> None:
    table = Table(title="resource.Quantity: canonical forms")
    table.add_column("written")
    table.add_column("canonical")
    for s in ("0.5", "100m", "1024Mi", "1e3", "1.5G", "1536Ki", "2Gi"):
        table.add_row(s, str(Quantity.parse(s)))
    total = Quantity.parse("250m") + Quantity.parse("0.5") + Quantity.parse("1")
    table.add_row("250m + 0.5 + 1", str(total))
    console.print(table)
    try:
        Quantity.parse("12 apples")
    except ValueError as e:
        console.print(f'Quantity.parse("12 apples") -> [red]{escape(str(e))}[/]')


def _selector_demo(console: Console, objects: list[tuple[Path, Any]]) -> None:
    pods = [o for _, o in objects if isinstance(o, corev1.Pod)]
    table = Table(title="Label selectors against the example pods")
    table.add_column("selector")
    table.add_column("matches")
    for text in ("app=web", "app in (web,db),tier!=backend", "!tier", "app,app notin (db)"):
        sel = labels.parse(text)
        hits = ", ".join(p.metadata.name for p in pods if sel.matches(p.metadata.labels)) or "-"
        table.add_row(str(sel), hits)
    for _, obj in objects:
        spec = getattr(obj, "spec", None)
        if getattr(spec, "selector", None) is not None and not isinstance(spec.selector, dict):
            table.add_row(
                f"{obj.kind} {obj.metadata.name}: {labels.label_selector_as_selector(spec.selector)}",
                "",
            )
    console.print(table)
    try:
        labels.parse("app in web")
    except ValueError as e:
        console.print(f'labels.parse("app in web") -> [red]{escape(str(e))}[/]')


def _field_selector_demo(console: Console, objects: list[tuple[Path, Any]]) -> None:
    pods = [o for _, o in objects if isinstance(o, corev1.Pod)]
    table = Table(title="Field selectors against the example pods")
    table.add_column("selector")
    table.add_column("matches")
    for text in (
        "spec.nodeName=worker-1",
        "status.phase!=Running",
        "metadata.namespace=shop,spec.nodeName=",
    ):
        sel = fields.parse_selector(text)
        hits = (
            ", ".join(p.metadata.name for p in pods if sel.matches(fields.field_set("Pod", p)))
            or "-"
        )
        table.add_row(str(sel), hits)
    console.print(table)
    try:
        fields.convert_field_label("", "v1", "Pod", "spec.image", "nginx")
    except ValueError as e:
        console.print(f'field selector "spec.image=nginx" on pods -> [red]{escape(str(e))}[/]')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m miniapi", description=__doc__.splitlines()[0])
    parser.add_argument(
        "paths", nargs="*", help="manifest files or directories (default: examples/manifests)"
    )
    parser.add_argument(
        "--summary", action="store_true", help="only the summary, do not print objects back"
    )
    args = parser.parse_args(argv)
    console = Console()
    objects, ok = _load(console, args.paths or [str(DEFAULT_DIR)])
    valid = _summary(console, objects)
    if not args.summary:
        _print_back(console, objects)
    _invalid_demo(console)
    _quantity_demo(console)
    _selector_demo(console, objects)
    _field_selector_demo(console, objects)
    return 0 if ok and valid else 1


if __name__ == "__main__":
    sys.exit(main())
