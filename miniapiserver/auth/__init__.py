"""Authentication (token file, x509) and first-start credentials."""
