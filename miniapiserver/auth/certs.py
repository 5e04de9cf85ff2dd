"""First-start credentials: a CA, a serving certificate, an admin token, a kubeconfig.

Mirrors what kube-apiserver's --tls-cert-file/--tls-private-key-file expect
and what kubeadm's certs phase / local-up-cluster.sh generate (a self-signed
CA; a serving certificate whose SANs cover 127.0.0.1, localhost and the
kubernetes.default service names), plus the kubeconfig clientcmd reads
(clusters / users / contexts with certificate-authority-data and a token), and
kubeadm's sa.key for ServiceAccount tokens.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVICE_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class Credentials:
    ca_file: Path
    cert_file: Path
    key_file: Path
    token_file: Path
    token: str


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert(subject: x509.Name, issuer: x509.Name, public, signer, ca: bool, sans=None, usage=None):  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(signer, hashes.SHA256())


def generate(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Credentials:
    """Write ca.crt/.key, apiserver.crt/.key, tokens.csv into directory (once; reused after)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = Credentials(
        directory / "ca.crt", directory / "apiserver.crt", directory / "apiserver.key",
        directory / "tokens.csv", "",
    )  # fmt: skip
    if all(p.exists() for p in (paths.ca_file, paths.cert_file, paths.key_file, paths.token_file)):
        token = paths.token_file.read_text().split(",", 1)[0]
        return Credentials(paths.ca_file, paths.cert_file, paths.key_file, paths.token_file, token)
    ca_key, key = _key(), _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "minicloud-ca")])
    ca = _cert(ca_name, ca_name, ca_key.public_key(), ca_key, True)
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    sans += [x509.DNSName(n) for n in SERVICE_NAMES]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    cert = _cert(
        name, ca_name, key.public_key(), ca_key, False, sans, [ExtendedKeyUsageOID.SERVER_AUTH]
    )
    paths.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    # Kept, as kubeadm keeps ca.key, to sign client certificates (CN = user, O = groups).
    ca_key_file = directory / "ca.key"
    ca_key_file.write_bytes(_pem_key(ca_key))
    ca_key_file.chmod(0o600)
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(_pem_key(key))
    paths.key_file.chmod(0o600)
    token = secrets.token_hex(16)
    paths.token_file.write_text(f'{token},admin,admin,"system:masters"\n')
    paths.token_file.chmod(0o600)
    return Credentials(paths.ca_file, paths.cert_file, paths.key_file, paths.token_file, token)


DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"  # kubeadm's default issuer


def service_account_key(directory: Path) -> Path:
    """sa.key: the RSA key that signs ServiceAccount tokens (kubeadm writes sa.key/sa.pub)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "sa.key"
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
    return path


def client_certificate(
    ca_cert_file: Path, ca_key_file: Path, user: str, groups: tuple[str, ...]
) -> tuple[bytes, bytes]:
    """A client certificate (PEM cert, PEM key) for user and groups, signed by the CA."""
    ca = x509.load_pem_x509_certificate(ca_cert_file.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
    key = _key()
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    name = x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, user)])
    cert = _cert(
        name, ca.subject, key.public_key(), ca_key, False, None, [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def kubeconfig(
    server: str, ca_file: Path, token: str, name: str = "minicloud", user: str = "admin"
) -> str:
    """A kubeconfig that kubectl and the kubernetes client use as is; user names its entry."""
    ca_data = base64.b64encode(ca_file.read_bytes()).decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)
