"""Built-in admission plugins (kubernetes/plugin/pkg/admission)."""
