"""TLS contexts from Envoy's DownstreamTlsContext and UpstreamTlsContext, with the stdlib ssl.

Mirrors source/common/tls/context_config_impl.cc (ContextConfigImpl: certificates, validation
context, ALPN, tls_params; the TLSv1_2 minimum and TLSv1_3 maximum defaults),
server_context_impl.cc (require_client_certificate) and client_context_impl.cc (`sni`; with
no validation context the upstream's certificate is not verified, as in Envoy; with
`trusted_ca` the chain is verified) and source/common/config/datasource.cc (`filename`, `inline_string`,
`inline_bytes`). Errors are EnvoyException with Envoy's texts.
Omitted: SDS secrets, certificate providers, pkcs12, private key providers, OCSP stapling,
cipher suite and curve lists, CRLs, SPKI/hash pinning, subject alt name matching
(`match_typed_subject_alt_names`), session ticket keys.
"""

from __future__ import annotations

import os
import ssl
import tempfile

from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2

from miniproxy.envoy.config import EnvoyException, unpack

TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls"
_VERSIONS = {
    common_pb2.TlsParameters.TLSv1_0: ssl.TLSVersion.TLSv1,
    common_pb2.TlsParameters.TLSv1_1: ssl.TLSVersion.TLSv1_1,
    common_pb2.TlsParameters.TLSv1_2: ssl.TLSVersion.TLSv1_2,
    common_pb2.TlsParameters.TLSv1_3: ssl.TLSVersion.TLSv1_3,
}


def read_data_source(ds, what: str) -> bytes:
    """Config::DataSource::read: a file's contents or the inline value."""
    kind = ds.WhichOneof("specifier")
    if kind == "filename":
        try:
            with open(ds.filename, "rb") as f:
                return f.read()
        except OSError:
            raise EnvoyException(f"Invalid path: {ds.filename}") from None
    if kind == "inline_string":
        return ds.inline_string.encode()
    if kind == "inline_bytes":
        return ds.inline_bytes
    raise EnvoyException(f"{what}: no data source")


def _load_certificate(ctx: ssl.SSLContext, cert) -> None:
    chain = read_data_source(cert.certificate_chain, "certificate_chain")
    key = read_data_source(cert.private_key, "private_key")
    password = cert.password.inline_string if cert.HasField("password") else None
    # SSLContext.load_cert_chain reads files only: inline PEM goes through a private temp dir.
    with tempfile.TemporaryDirectory(prefix="miniproxy-tls-") as d:
        chain_path, key_path = os.path.join(d, "chain.pem"), os.path.join(d, "key.pem")
        for path, data in ((chain_path, chain), (key_path, key)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
                f.write(data)
        try:
            ctx.load_cert_chain(chain_path, key_path, password=password)
        except (ssl.SSLError, ValueError) as e:
            raise EnvoyException(
                f"Failed to load certificate chain from {_where(cert.certificate_chain)}: {e}"
            ) from None


def _where(ds) -> str:
    return ds.filename if ds.WhichOneof("specifier") == "filename" else "<inline>"


def _common(ctx: ssl.SSLContext, common) -> bool:
    """Apply CommonTlsContext; True when a validation context with trusted_ca was given."""
    params = common.tls_params
    ctx.minimum_version = _VERSIONS.get(params.tls_minimum_protocol_version, ssl.TLSVersion.TLSv1_2)
    ctx.maximum_version = _VERSIONS.get(params.tls_maximum_protocol_version, ssl.TLSVersion.TLSv1_3)
    for cert in common.tls_certificates:
        _load_certificate(ctx, cert)
    if common.alpn_protocols:
        ctx.set_alpn_protocols(list(common.alpn_protocols))
    vc = common.validation_context
    if common.HasField("validation_context") and vc.HasField("trusted_ca"):
        ca = read_data_source(vc.trusted_ca, "trusted_ca")
        try:
            ctx.load_verify_locations(cadata=ca.decode("latin-1"))
        except ssl.SSLError as e:
            raise EnvoyException(f"Failed to load trusted CA certificates from {_where(vc.trusted_ca)}: {e}") from None  # fmt: skip
        return True
    return False


def server_context(pb: tls_pb2.DownstreamTlsContext) -> ssl.SSLContext:
    """ServerContextImpl: a listener filter chain's TLS termination."""
    common = pb.common_tls_context
    if not common.tls_certificates:
        raise EnvoyException("No TLS certificates found for server context")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    has_ca = _common(ctx, common)
    if pb.require_client_certificate.value:
        if not has_ca:
            raise EnvoyException("TLS: require_client_certificate needs a trusted_ca")
        ctx.verify_mode = ssl.CERT_REQUIRED
    elif has_ca:
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def client_context(pb: tls_pb2.UpstreamTlsContext) -> ssl.SSLContext:
    """ClientContextImpl: a cluster's TLS origination."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if _common(ctx, pb.common_tls_context):
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def transport_socket(ts, downstream: bool):
    """A `transport_socket` config → an SSLContext (None for raw_buffer)."""
    if not ts.HasField("typed_config"):
        return None
    msg = unpack(ts.typed_config, ts.name)
    want = tls_pb2.DownstreamTlsContext if downstream else tls_pb2.UpstreamTlsContext
    if not isinstance(msg, want):
        raise EnvoyException(
            f"transport socket '{ts.name}': expected {want.DESCRIPTOR.full_name}, "
            f"got {msg.DESCRIPTOR.full_name}"
        )
    return server_context(msg) if downstream else client_context(msg)
