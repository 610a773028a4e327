"""pki: a throw-away certificate authority for the HTTPS tests, made at test time (python3-cryptography).

make(directory) writes PEM files and returns their paths:
  ca             the test CA the exporter is told to trust (aws.ca_file)
  server         a certificate for 127.0.0.1 and localhost (subjectAltName), signed by the test CA
  wrong_host     signed by the test CA, but for wrong-host.invalid only
  expired        for 127.0.0.1 and localhost, signed by the test CA, valid only in the past
  untrusted      for 127.0.0.1 and localhost, signed by a second CA nobody trusts
  untrusted_ca   that second CA (for a client that should trust it, e.g. a control connection)
Each certificate entry is a (cert_file, key_file) pair.
"""

import datetime
import ipaddress
import os

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # reported by make(): the tests that need it skip
    x509 = None

LOCAL_NAMES = ("127.0.0.1", "localhost")


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "deadline-cloud-exporter tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(directory, stem, cert, key):
    cert_path = os.path.join(directory, stem + ".pem")
    key_path = os.path.join(directory, stem + ".key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(key_path, 0o600)
    return cert_path, key_path


def _ca(cn, now):
    key = _key()
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _leaf(ca_cert, ca_key, names, not_before, not_after):
    key = _key()
    alt = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]
    cert = (x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def available():
    return x509 is not None


def make(directory):
    """Writes the CA and the certificates into directory (created if needed); returns the dict described above."""
    if x509 is None:
        raise RuntimeError("python3-cryptography is not installed")
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    ca_cert, ca_key = _ca("test CA", now)
    other_cert, other_key = _ca("untrusted test CA", now)
    out = {"ca": _write(directory, "ca", ca_cert, None)[0],
           "untrusted_ca": _write(directory, "untrusted-ca", other_cert, None)[0]}
    leaves = {
        "server": (ca_cert, ca_key, LOCAL_NAMES, now - day, now + 7 * day),
        "wrong_host": (ca_cert, ca_key, ("wrong-host.invalid",), now - day, now + 7 * day),
        "expired": (ca_cert, ca_key, LOCAL_NAMES, now - 30 * day, now - 2 * day),
        "untrusted": (other_cert, other_key, LOCAL_NAMES, now - day, now + 7 * day),
    }
    for stem, (issuer, issuer_key, names, nb, na) in leaves.items():
        cert, key = _leaf(issuer, issuer_key, list(names), nb, na)
        out[stem] = _write(directory, stem.replace("_", "-"), cert, key)
    return out
