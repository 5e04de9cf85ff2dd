"""Request info, negotiation, discovery, OpenAPI, routing (apiserver/pkg/endpoints)."""
