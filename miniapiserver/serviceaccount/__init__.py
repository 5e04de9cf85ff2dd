"""ServiceAccount tokens: signed JWTs issued by TokenRequest and checked by the authenticator."""
