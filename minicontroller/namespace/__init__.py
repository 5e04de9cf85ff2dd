"""The Namespace controller (pkg/controller/namespace)."""

from minicontroller.namespace.namespace_controller import NamespaceController

__all__ = ["NamespaceController"]
