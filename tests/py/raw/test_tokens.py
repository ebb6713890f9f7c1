"""Bearer tokens between sysgate and PyJWT, the reference JWT library: tokens PyJWT mints with
HS256, RS256, ES256 and EdDSA keys are accepted by `sysgate token verify` under the matching
config; tokens `sysgate token mint` prints verify in PyJWT; and the refusals (alg none, algorithm
confusion, unknown kid, expired, future-dated, over-long-lived, wrong aud/iss, truncated,
oversized, missing claims) each give their reason. Keys are made here with `cryptography`."""

import base64
import hashlib
import hmac
import json
import os
import pathlib
import subprocess
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

SECRET = b"0123456789abcdef0123456789abcdef-pyjwt"
ISS = "https://idp.test"
AUD = "sysgate-host"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**over):
    now = int(time.time())
    c = {"sub": "agent-7", "jti": os.urandom(8).hex(), "iat": now, "exp": now + 120,
         "iss": ISS, "aud": AUD, "mcp_scopes": ["core", "hooks"]}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


class Host:
    """A config directory (0700) with one key source under auth.jwt."""

    def __init__(self, tmp: pathlib.Path, sysgate_bin: str, key_lines: str, files: dict):
        tmp.chmod(0o700)
        for name, (data, mode) in files.items():
            p = tmp / name
            p.write_bytes(data)
            p.chmod(mode)
        self.config = tmp / "config.yaml"
        text = (
            ("allow_root: true\n" if os.geteuid() == 0 else "")
            + "auth:\n  jwt:\n"
            + "".join(f"    {line}\n" for line in key_lines.format(dir=tmp).splitlines())
            + f"    issuer: {ISS}\n    audience: {AUD}\n    max_ttl: 300\n"
        )
        self.config.write_text(text)
        self.config.chmod(0o600)
        self.bin = sysgate_bin

    def run(self, *args, stdin=None):
        p = subprocess.run([self.bin, *args, "--config", str(self.config)], input=stdin,
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def verify(self, token):
        return self.run("token", "verify", "-", stdin=token)


@pytest.fixture
def hs_host(tmp_path, sysgate_bin):
    return Host(tmp_path, sysgate_bin, "secret_file: {dir}/secret", {"secret": (SECRET + b"\n", 0o600)})


def pem_public(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def test_hs256_both_ways(hs_host):
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    code, out, err = hs_host.verify(token)
    assert code == 0, out + err
    assert out.startswith("valid: HS256, sub agent-7"), out
    assert "scopes held under this config (enabled ones): core, hooks" in out

    code, minted, err = hs_host.run("token", "mint", "--agent", "ci-bot", "--scopes", "core,sbom", "--ttl", "2m")
    assert code == 0, err
    decoded = jwt.decode(minted.strip(), SECRET, algorithms=["HS256"], audience=AUD, issuer=ISS,
                         options={"require": ["exp", "iat", "jti", "sub"]})
    assert decoded["sub"] == "ci-bot"
    assert decoded["mcp_scopes"] == ["core", "sbom"]
    assert decoded["exp"] - decoded["iat"] == 120
    assert len(decoded["jti"]) == 32
    # Two mints never share a jti.
    _, again, _ = hs_host.run("token", "mint", "--agent", "ci-bot", "--scopes", "core")
    assert jwt.decode(again.strip(), SECRET, algorithms=["HS256"], audience=AUD)["jti"] != decoded["jti"]


@pytest.mark.parametrize("ttl,ok", [("5m", True), ("301s", False), ("1h", False), ("0s", False), ("5", False)])
def test_mint_refuses_lifetimes_the_server_would_refuse(hs_host, ttl, ok):
    code, out, err = hs_host.run("token", "mint", "--agent", "a", "--scopes", "core", "--ttl", ttl)
    assert (code == 0) == ok, (ttl, out, err)
    if not ok:
        assert code == 2 and "--ttl" in err, err


def refusals():
    now = int(time.time())
    # (case, token builder taking the secret, reason printed)
    def hs(c, header=None):
        return lambda: jwt.encode(c, SECRET, algorithm="HS256", headers=header)
    def raw(header, c, sig=b""):
        return lambda: f"{b64(json.dumps(header).encode())}.{b64(json.dumps(c).encode())}.{b64(sig)}"
    return [
        ("alg none", lambda: jwt.encode(claims(), None, algorithm="none"), "malformed token: an empty part"),
        ("alg none with a signature", raw({"alg": "none"}, claims(), b"x" * 32), 'token algorithm "none"'),
        ("expired", hs(claims(exp=now - 100, iat=now - 200)), "token expired"),
        ("future-dated", hs(claims(iat=now + 120, exp=now + 200)), "issued in the future"),
        ("over-long-lived", hs(claims(exp=now + 3600)), "token lifetime is"),
        ("wrong aud", hs(claims(aud="other-host")), "`aud` does not name"),
        ("wrong iss", hs(claims(iss="https://evil")), "`iss` is not"),
        ("no jti", hs(claims(jti=None)), "required claim `jti`"),
        ("no sub", hs(claims(sub=None)), "required claim `sub`"),
        ("unknown kid", hs(claims(), {"kid": "k-404"}), "unknown `kid`"),
        ("truncated", lambda: jwt.encode(claims(), SECRET, algorithm="HS256")[:-3], "signature does not verify"),
        ("two parts", lambda: ".".join(jwt.encode(claims(), SECRET, algorithm="HS256").split(".")[:2]), "not three"),
        ("oversized", hs(claims(pad="x" * 9000)), "at most 8192"),
        ("bad base64url", lambda: "e30.e30.***", "the signature is not base64url"),
        ("other secret", lambda: jwt.encode(claims(), b"another secret that is long enough!!", algorithm="HS256"), "signature does not verify"),
    ]


@pytest.mark.parametrize("case,build,reason", refusals(), ids=[r[0] for r in refusals()])
def test_refusals_name_their_reason(hs_host, case, build, reason):
    code, out, err = hs_host.verify(build())
    assert code == 1, (case, out, err)
    assert out.startswith("invalid: ") and reason in out, (case, out)


def test_public_key_algorithms_from_pyjwt(tmp_path, sysgate_bin):
    keys = {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    }
    for alg, key in keys.items():
        d = tmp_path / alg
        d.mkdir()
        host = Host(d, sysgate_bin, "public_key_file: {dir}/pub.pem", {"pub.pem": (pem_public(key), 0o644)})
        code, out, err = host.verify(jwt.encode(claims(), key, algorithm=alg))
        assert code == 0, (alg, out, err)
        assert out.startswith(f"valid: {alg}"), out
        # Another key of the same kind: the signature fails.
        other = type(key).__name__
        fresh = {"RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
                 "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
                 "EdDSA": ed25519.Ed25519PrivateKey.generate}[alg]()
        code, out, _ = host.verify(jwt.encode(claims(), fresh, algorithm=alg))
        assert code == 1 and "signature does not verify" in out, (other, out)

    # The confusion attack: HS256 with the RSA public key's PEM as the HMAC secret. PyJWT itself
    # refuses to build it, so it is signed by hand.
    d = tmp_path / "confusion"
    d.mkdir()
    pem = pem_public(keys["RS256"])
    host = Host(d, sysgate_bin, "public_key_file: {dir}/pub.pem", {"pub.pem": (pem, 0o644)})
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims()).encode())
    sig = b64(hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    code, out, _ = host.verify(f"{head}.{body}.{sig}")
    assert code == 1 and 'token algorithm "HS256" is not the configured key\'s (RS256)' in out, out


def test_jwks_selects_by_kid(tmp_path, sysgate_bin):
    a = ec.generate_private_key(ec.SECP256R1())
    b = ed25519.Ed25519PrivateKey.generate()
    ja = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(a.public_key()))
    jb = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(b.public_key()))
    ja["kid"], jb["kid"] = "ec-1", "ed-1"
    doc = json.dumps({"keys": [ja, jb]}).encode()
    host = Host(tmp_path, sysgate_bin, "jwks_file: {dir}/jwks.json", {"jwks.json": (doc, 0o644)})
    assert host.verify(jwt.encode(claims(), a, algorithm="ES256", headers={"kid": "ec-1"}))[0] == 0
    assert host.verify(jwt.encode(claims(), b, algorithm="EdDSA", headers={"kid": "ed-1"}))[0] == 0
    code, out, _ = host.verify(jwt.encode(claims(), b, algorithm="EdDSA", headers={"kid": "ec-1"}))
    assert code == 1 and "(ES256)" in out, out
    code, out, _ = host.verify(jwt.encode(claims(), b, algorithm="EdDSA"))
    assert code == 1 and "no `kid`" in out, out


@pytest.mark.parametrize("mode,ok", [(0o600, True), (0o640, False), (0o644, False), (0o620, False)])
def test_secret_file_mode_is_checked_on_the_handle(tmp_path, sysgate_bin, mode, ok):
    host = Host(tmp_path, sysgate_bin, "secret_file: {dir}/secret", {"secret": (SECRET, mode)})
    code, out, err = host.verify(jwt.encode(claims(), SECRET, algorithm="HS256"))
    assert (code == 0) == ok, (oct(mode), out, err)
    if not ok:
        assert "mode" in err, err


def test_a_public_key_file_others_can_write_is_refused(tmp_path, sysgate_bin):
    key = ec.generate_private_key(ec.SECP256R1())
    host = Host(tmp_path, sysgate_bin, "public_key_file: {dir}/pub.pem", {"pub.pem": (pem_public(key), 0o666)})
    code, out, err = host.verify(jwt.encode(claims(), key, algorithm="ES256"))
    assert code != 0 and "lets others change it" in err, (out, err)


def test_config_refuses_a_secret_in_the_file(tmp_path, sysgate_bin):
    host = Host(tmp_path, sysgate_bin, "secret: hunter2hunter2hunter2hunter2hunter2", {})
    code, _, err = host.run("check-config")
    assert code != 0 and "never read from the config file" in err, err
