"""Generates the control plane's credentials: a CA, the apiserver's serving certificate,
the service-account signing key, and one client certificate per identity."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .network import KUBERNETES_SERVICE_IP, NODE_IP, NODE_NAME

VALIDITY = datetime.timedelta(days=365)

# Identities the control plane components authenticate as. The bootstrap RBAC
# policy of kube-apiserver already grants these names what they need.
CLIENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("kubernetes-admin", ("system:masters",)),
    "controller-manager": ("system:kube-controller-manager", ()),
    "scheduler": ("system:kube-scheduler", ()),
    # The real node. The Node authorizer and NodeRestriction admission recognise a
    # kubelet by this user name and group.
    "kubelet": (f"system:node:{NODE_NAME}", ("system:nodes",)),
    # Bound to system:node-proxier by the bootstrap RBAC policy.
    "kube-proxy": ("system:kube-proxy", ()),
    # RBAC for it is created with the node (hack/node/objects.py).
    "metrics-server": ("system:metrics-server", ()),
    # kube-apiserver's identity towards kubelets (logs, exec, port-forward).
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", ("system:masters",)),
}


@dataclass(frozen=True)
class ClientCredential:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Credentials:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    sa_key: Path
    sa_pub: Path
    clients: dict[str, ClientCredential]
    # The aggregation layer's front proxy: its own CA, so a client certificate from
    # the main CA can never pass itself off as the proxy that asserts user names.
    front_proxy_ca: Path
    front_proxy_client: ClientCredential
    # Serving certificate of what listens on the real node's address: the kubelet and
    # metrics-server. Issued by the main CA, so the apiserver verifies both.
    node_serving: ClientCredential


FRONT_PROXY_CLIENT = "front-proxy-client"


def _write_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_name: x509.Name,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    sans: list[x509.GeneralName] | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(subject, ca_name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _new_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return ca_cert, ca_key


def generate(folder: Path) -> Credentials:
    """Writes a fresh set of credentials into `folder` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)

    ca_cert, ca_key = _new_ca("handtracker-local-ca")
    ca_name = ca_cert.subject
    serving_sans: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default"),
        x509.DNSName("kubernetes.default.svc"),
        # Pods reach the apiserver through the `kubernetes` Service and the node address.
        x509.IPAddress(ipaddress.ip_address(KUBERNETES_SERVICE_IP)),
        x509.IPAddress(ipaddress.ip_address(NODE_IP)),
    ]
    serving_cert, serving_key = _issue(
        ca_key, ca_name,
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
        ExtendedKeyUsageOID.SERVER_AUTH, serving_sans,
    )

    creds = Credentials(
        ca_cert=folder / "ca.crt",
        ca_key=folder / "ca.key",
        serving_cert=folder / "apiserver.crt",
        serving_key=folder / "apiserver.key",
        sa_key=folder / "sa.key",
        sa_pub=folder / "sa.pub",
        clients={
            name: ClientCredential(folder / f"{name}.crt", folder / f"{name}.key")
            for name in CLIENTS
        },
        front_proxy_ca=folder / "front-proxy-ca.crt",
        front_proxy_client=ClientCredential(
            folder / f"{FRONT_PROXY_CLIENT}.crt", folder / f"{FRONT_PROXY_CLIENT}.key"
        ),
        node_serving=ClientCredential(folder / "node-serving.crt", folder / "node-serving.key"),
    )
    _write_cert(ca_cert, creds.ca_cert)
    _write_key(ca_key, creds.ca_key)
    _write_cert(serving_cert, creds.serving_cert)
    _write_key(serving_key, creds.serving_key)
    node_cert, node_key = _issue(
        ca_key, ca_name,
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NODE_NAME)]),
        ExtendedKeyUsageOID.SERVER_AUTH,
        [
            x509.IPAddress(ipaddress.ip_address(NODE_IP)),
            x509.DNSName(NODE_NAME),
            x509.DNSName("metrics-server.kube-system.svc"),
        ],
    )
    _write_cert(node_cert, creds.node_serving.cert)
    _write_key(node_key, creds.node_serving.key)

    # Service-account tokens are signed with RSA, the algorithm every client accepts.
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(sa_key, creds.sa_key)
    creds.sa_pub.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    for name, (common_name, groups) in CLIENTS.items():
        subject = x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
            + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        )
        cert, key = _issue(ca_key, ca_name, subject, ExtendedKeyUsageOID.CLIENT_AUTH)
        _write_cert(cert, creds.clients[name].cert)
        _write_key(key, creds.clients[name].key)

    proxy_ca_cert, proxy_ca_key = _new_ca("handtracker-local-front-proxy-ca")
    proxy_cert, proxy_key = _issue(
        proxy_ca_key, proxy_ca_cert.subject,
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, FRONT_PROXY_CLIENT)]),
        ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    _write_cert(proxy_ca_cert, creds.front_proxy_ca)
    _write_cert(proxy_cert, creds.front_proxy_client.cert)
    _write_key(proxy_key, creds.front_proxy_client.key)
    return creds
