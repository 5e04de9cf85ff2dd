"""Table: the server-side printing format kubectl asks for with `as=Table`.

Mirrors k8s.io/apimachinery/pkg/apis/meta/v1/types.go (Table,
TableColumnDefinition, TableRow, TableRowCondition, PartialObjectMetadata).
Cells are untyped upstream (strings, numbers, booleans), and so they are here.
Omitted: TableOptions (a query parameter).
"""

from __future__ import annotations

from typing import Any

from miniapi.base import Struct, field
from miniapi.meta.v1.types import ListMeta, ObjectMeta

__all__ = [
    "PartialObjectMetadata",
    "PartialObjectMetadataList",
    "Table",
    "TableColumnDefinition",
    "TableRow",
    "TableRowCondition",
]


class TableColumnDefinition(Struct, frozen=True, kw_only=True):
    """A column: name, type (string, integer, number, boolean, date), format, priority."""

    name: str = ""
    type: str = ""
    format: str = ""
    description: str = ""
    priority: int = 0


class TableRowCondition(Struct, frozen=True, kw_only=True):
    """A row condition; only type "Completed" exists upstream."""

    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""


class TableRow(Struct, frozen=True, kw_only=True):
    """One printed object: its cells in column order, and optionally the object."""

    cells: list[Any] = []
    conditions: list[TableRowCondition] = []
    object: Any = None


class Table(Struct, frozen=True, kw_only=True):
    """A tabular rendering of a list of objects."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    column_definitions: list[TableColumnDefinition] = []
    rows: list[TableRow] = []


class PartialObjectMetadata(Struct, frozen=True, kw_only=True):
    """Only the metadata of an object (`as=PartialObjectMetadata`)."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)


class PartialObjectMetadataList(Struct, frozen=True, kw_only=True):
    """A list of PartialObjectMetadata."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[PartialObjectMetadata] = []
