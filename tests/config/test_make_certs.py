"""scripts/make-certs.sh, run as an installer would: what it makes, openssl verify accepts (and refuses once revoked)."""

import subprocess
from pathlib import Path

import pytest

from firmware_sim.local_services import PROJECT_ROOT

MAKE_CERTS = PROJECT_ROOT / "scripts" / "make-certs.sh"


def run(certs: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(MAKE_CERTS), "-d", str(certs), *args], check=check, capture_output=True,
                          text=True)


def openssl(*args: str) -> str:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True)
    return done.stdout + done.stderr


def test_the_ca_broker_hub_and_device_certificates_verify(tmp_path: Path) -> None:
    run(tmp_path, "all", "mosquitto", "hub.home.lan", "192.168.1.10")
    run(tmp_path, "device", "door-01")
    ca = str(tmp_path / "ca.crt")

    for cert in ("broker.crt", "hub.crt", "devices/door-01.crt"):
        assert openssl("verify", "-CAfile", ca, "-crl_check", "-CRLfile", str(tmp_path / "crl.pem"),
                       "-purpose", "sslserver" if cert == "broker.crt" else "sslclient",
                       str(tmp_path / cert)) == f"{tmp_path / cert}: OK\n"
    assert "CN = door-01" in openssl("x509", "-in", str(tmp_path / "devices/door-01.crt"), "-noout", "-subject")
    assert "CN = threshold.hub" in openssl("x509", "-in", str(tmp_path / "hub.crt"), "-noout", "-subject")
    names = openssl("x509", "-in", str(tmp_path / "broker.crt"), "-noout", "-ext", "subjectAltName")
    assert "DNS:mosquitto, DNS:hub.home.lan, IP Address:192.168.1.10" in names
    for key in ("ca/ca.key", "hub.key", "broker.key", "devices/door-01.key"):
        assert (tmp_path / key).stat().st_mode & 0o077 == 0, f"{key} is readable by others"


def test_a_device_key_made_on_the_pi_is_signed_only_for_its_own_id(tmp_path: Path) -> None:
    run(tmp_path, "ca")
    key, request = tmp_path / "pi.key", tmp_path / "pi.csr"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    openssl("req", "-new", "-key", str(key), "-subj", "/CN=door-07", "-out", str(request))

    refused = run(tmp_path, "device", "door-08", str(request), check=False)
    assert refused.returncode != 0 and "not 'door-08'" in refused.stderr
    run(tmp_path, "device", "door-07", str(request))
    assert not (tmp_path / "devices/door-07.key").exists()
    cert = str(tmp_path / "devices/door-07.crt")
    assert openssl("verify", "-CAfile", str(tmp_path / "ca.crt"), cert) == f"{cert}: OK\n"
    # The certificate is for the Pi's own key.
    assert openssl("x509", "-in", cert, "-noout", "-pubkey") == openssl("pkey", "-in", str(key), "-pubout")


@pytest.mark.parametrize("device", ["Door-1", "threshold.hub", "door 1", ""])
def test_a_name_that_is_not_a_device_id_is_refused(tmp_path: Path, device: str) -> None:
    run(tmp_path, "ca")
    refused = run(tmp_path, "device", device, check=False)
    assert refused.returncode != 0 and "is not 1-64 characters" in refused.stderr
    assert not (tmp_path / "devices").exists() or not any((tmp_path / "devices").iterdir())


def test_a_revoked_device_fails_verification_against_the_renewed_list(tmp_path: Path) -> None:
    run(tmp_path, "all")
    run(tmp_path, "device", "door-02")
    run(tmp_path, "revoke", "door-02")
    (revoked,) = (tmp_path / "devices").glob("door-02.crt.revoked-*")

    result = openssl("verify", "-CAfile", str(tmp_path / "ca.crt"), "-crl_check", "-CRLfile",
                     str(tmp_path / "crl.pem"), str(revoked))
    assert "certificate revoked" in result
    run(tmp_path, "device", "door-02")  # its replacement can be issued
