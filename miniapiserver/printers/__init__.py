"""Server-side printing (pkg/printers)."""
