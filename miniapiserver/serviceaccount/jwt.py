"""Signing and verifying ServiceAccount JWTs (RS256).

Mirrors kubernetes/pkg/serviceaccount/jwt.go (JWTTokenGenerator: sign the claims with
the --service-account-signing-key-file key, "kid" = base64url(sha256(PKIX public key));
JWTTokenAuthenticator: a token whose iss is one of --service-account-issuer and whose
aud meets --api-audiences, signed by one of the --service-account-key-file keys, then
the claims validator, answering user system:serviceaccount:<ns>:<name> with the groups
system:serviceaccounts and system:serviceaccounts:<ns>) and the PEM key loading of
client-go's keyutil. Pure apart from the crypto: times come in as numbers.
Omitted: ECDSA keys, external signers (--service-account-signing-endpoint), OIDC discovery.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from miniapiserver.auth.authn import UserInfo
from miniapiserver.serviceaccount import claims as sa_claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """keyIDFromPublicKey: base64url of the SHA-256 of the DER public key."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _b64(hashlib.sha256(der).digest())


def load_private_key(path: str | Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: only RSA keys are supported")
    return key


PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


def load_public_keys(path: str | Path) -> list[rsa.RSAPublicKey]:
    """keyutil.PublicKeysFromFile: each public key, or private key's public half, in a PEM."""
    keys: list[rsa.RSAPublicKey] = []
    for match in PEM_BLOCK.finditer(Path(path).read_bytes()):
        pem = match.group(0)
        if b"PRIVATE KEY" in match.group(1):
            key: Any = serialization.load_pem_private_key(pem, password=None).public_key()
        else:
            key = serialization.load_pem_public_key(pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError(f"{path}: only RSA keys are supported")
        keys.append(key)
    if not keys:
        raise ValueError(f"data does not contain any valid RSA or ECDSA public keys: {path}")
    return keys


class TokenGenerator:
    """JWTTokenGenerator: iss plus the claims, signed RS256."""

    def __init__(self, issuer: str, key: rsa.RSAPrivateKey) -> None:
        self.issuer = issuer
        self.key = key
        self.kid = key_id(key.public_key())

    def generate_token(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "kid": self.kid}
        body = {"iss": self.issuer, **claims}
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        )
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64(signature)


class TokenAuthenticator:
    """JWTTokenAuthenticator for ServiceAccount tokens."""

    def __init__(
        self,
        issuers: Iterable[str],
        keys: Iterable[rsa.RSAPublicKey],
        audiences: Iterable[str],
        lookup: sa_claims.Lookup,
    ) -> None:
        self.issuers = set(issuers)
        self.keys = list(keys)
        self.audiences = set(audiences)
        self.lookup = lookup

    def authenticate_token(self, token: str, now: int) -> UserInfo | None:
        """The user of a valid token; None for anything else (not ours, bad, expired)."""
        claims = self._verified_claims(token)
        if claims is None or claims.get("iss") not in self.issuers:
            return None
        aud = claims.get("aud")
        token_auds = {aud} if isinstance(aud, str) else set(aud or [])
        if self.audiences and not token_auds & self.audiences:
            return None
        try:
            info = sa_claims.validate(claims, now, self.lookup)
        except sa_claims.InvalidToken:
            return None
        return UserInfo(
            sa_claims.make_username(info.namespace, info.name),
            info.uid,
            sa_claims.make_group_names(info.namespace),
        )

    def _verified_claims(self, token: str) -> dict[str, Any] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            signature = _unb64(parts[2])
            if not isinstance(header, dict) or header.get("alg") != "RS256":
                return None
            signed = (parts[0] + "." + parts[1]).encode()
            for key in self.keys:
                try:
                    key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
                except InvalidSignature:
                    continue
                claims = json.loads(_unb64(parts[1]))
                return claims if isinstance(claims, dict) else None
        except (ValueError, binascii.Error):
            return None
        return None
