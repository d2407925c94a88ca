"""The local broker's secrets: a CA, the broker's TLS certificate, one random password per principal.

They live in DATA_DIR/kafka/secrets (mode 0700), every file 0600, made on first start and kept
after: clients read the CA (ca.pem) and their principal's password file (users/NAME.password).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets as random_secrets
from pathlib import Path

from stack.clients import ca_path, password_path

from . import files

CERT_DAYS = 3650
BROKER_HOSTS = ("localhost", "kafka", "kafka-1", "kafka-2", "kafka-3")  # the brokers' names in docker-compose.yml
BROKER_IPS = ("127.0.0.1", "::1")


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (stack.files), in a folder only its owner can enter."""
    private_dir(path.parent)
    files.write_private(path, data)


def new_password() -> str:
    return random_secrets.token_hex(24)  # hex: safe inside JAAS and SCRAM option syntax


def ensure_password(secrets_dir: Path, principal: str) -> str:
    """The principal's password, made (random) and saved on first use."""
    file = password_path(secrets_dir, principal)
    if not file.exists():
        write_private(file, new_password().encode())
    return file.read_text().strip()


def controller_password(secrets_dir: Path) -> str:
    """The controller listener's PLAIN password (KRaft controllers cannot check SCRAM)."""
    file = secrets_dir / "controller.password"
    if not file.exists():
        write_private(file, new_password().encode())
    return file.read_text().strip()


def broker_keystore(secrets_dir: Path) -> Path:
    """The broker's key and certificate chain in one PEM file (Kafka's PEM keystore), CA first made."""
    keystore = secrets_dir / "broker.pem"
    if not keystore.exists() or not ca_path(secrets_dir).exists():
        _make_certificates(secrets_dir, keystore)
    return keystore


def _make_certificates(secrets_dir: Path, keystore: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=CERT_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "p06 local Kafka CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(h) for h in BROKER_HOSTS] + [x509.IPAddress(ipaddress.ip_address(i)) for i in BROKER_IPS]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "p06-kafka")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    write_private(secrets_dir / "ca.key", ca_key.private_bytes(pem, pkcs8, serialization.NoEncryption()))
    write_private(ca_path(secrets_dir), ca_cert.public_bytes(pem))
    write_private(
        keystore,
        key.private_bytes(pem, pkcs8, serialization.NoEncryption())
        + cert.public_bytes(pem)
        + ca_cert.public_bytes(pem),
    )
