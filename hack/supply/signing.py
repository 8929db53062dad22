"""Signatures and SBOM attestations of the pinned images, made and checked with the
pinned cosign and a local key pair, offline: no transparency log, no certificate
authority, no trust root fetched from anywhere. A failed check raises SignatureError
naming the image; nothing falls back to an unchecked image."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hack.gobuild import locked
from hack.tools import ensure_tool

from .settings import default_supply

# The attestation's predicate type, as cosign names CycloneDX.
SBOM_TYPE = "cyclonedx"
# The registry speaks plain HTTP on loopback.
REGISTRY_FLAGS = ("--allow-http-registry", "--allow-insecure-registry")
# Sign with the key alone: cosign 3 otherwise asks a signing config (from the public
# trust root, online) for a transparency log to upload to.
OFFLINE_SIGNING = ("--tlog-upload=false", "--use-signing-config=false")
# Verify with the key alone: no transparency log entry is looked for.
OFFLINE_VERIFYING = ("--insecure-ignore-tlog=true",)
TIMEOUT = 300


class SignatureError(RuntimeError):
    pass


@dataclass(frozen=True)
class KeyPair:
    private: Path  # cosign.key, encrypted with an empty password
    public: Path  # cosign.pub, what a user verifies with


def key_pair(folder: Path | None = None) -> KeyPair:
    """Where the key pair is (or will be)."""
    folder = folder or default_supply().keys_dir
    return KeyPair(folder / "cosign.key", folder / "cosign.pub")


def ensure_keys(folder: Path | None = None) -> KeyPair:
    """The key pair in folder, generated on first use."""
    folder = folder or default_supply().keys_dir
    keys = key_pair(folder)
    with locked(folder / "lock"):
        if not (keys.private.is_file() and keys.public.is_file()):
            keys.private.unlink(missing_ok=True)
            keys.public.unlink(missing_ok=True)
            _cosign(["generate-key-pair"], cwd=folder)
    return keys


def _cosign(args: Sequence[str], cwd: Path | None = None) -> str:
    # An empty password: the key signs this machine's bed images only, and no one is
    # there to type one; COSIGN_YES: no prompt either.
    env = {**os.environ, "COSIGN_PASSWORD": "", "COSIGN_YES": "true"}
    result = subprocess.run([str(ensure_tool("cosign")), *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=TIMEOUT)
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, args, result.stdout,
                                            result.stderr)
    return result.stdout


def _require_public(pinned_ref: str, keys: KeyPair) -> None:
    # A key generated now would only refuse every image, and hide why.
    if not keys.public.is_file():
        raise SignatureError(f"{pinned_ref}: no public key {keys.public} to verify with")


def _reason(err: subprocess.CalledProcessError) -> str:
    lines = [line for line in err.stderr.splitlines() if line.strip()]
    if not lines:
        return f"cosign exited with {err.returncode}"
    return lines[-1].removeprefix("error during command execution: ")


def sign(pinned_ref: str, keys: KeyPair | None = None) -> None:
    keys = keys or ensure_keys()
    try:
        _cosign(["sign", "--key", str(keys.private), *OFFLINE_SIGNING, *REGISTRY_FLAGS,
                 pinned_ref])
    except subprocess.CalledProcessError as err:
        raise SignatureError(f"signing {pinned_ref} failed: {_reason(err)}") from None


def verify(pinned_ref: str, keys: KeyPair | None = None) -> None:
    """Raises SignatureError naming the image unless a signature by the key pair covers
    exactly this digest."""
    keys = keys or key_pair()
    _require_public(pinned_ref, keys)
    try:
        _cosign(["verify", "--key", str(keys.public), *OFFLINE_VERIFYING, *REGISTRY_FLAGS,
                 pinned_ref])
    except subprocess.CalledProcessError as err:
        raise SignatureError(f"{pinned_ref}: signature refused: {_reason(err)}") from None


def attest(pinned_ref: str, sbom: dict, keys: KeyPair | None = None) -> None:
    """Attaches the SBOM to the image as an attestation signed with the key pair."""
    keys = keys or ensure_keys()
    with tempfile.NamedTemporaryFile("w", suffix=".cdx.json") as predicate:
        json.dump(sbom, predicate)
        predicate.flush()
        try:
            _cosign(["attest", "--key", str(keys.private), "--type", SBOM_TYPE,
                     "--predicate", predicate.name, *OFFLINE_SIGNING, *REGISTRY_FLAGS,
                     pinned_ref])
        except subprocess.CalledProcessError as err:
            raise SignatureError(f"attesting the SBOM of {pinned_ref} failed: "
                                 f"{_reason(err)}") from None


def read_sbom(pinned_ref: str, keys: KeyPair | None = None) -> dict:
    """The image's SBOM, from an attestation that verifies with the key pair."""
    keys = keys or key_pair()
    _require_public(pinned_ref, keys)
    try:
        out = _cosign(["verify-attestation", "--key", str(keys.public), "--type", SBOM_TYPE,
                       *OFFLINE_VERIFYING, *REGISTRY_FLAGS, pinned_ref])
    except subprocess.CalledProcessError as err:
        raise SignatureError(f"{pinned_ref}: SBOM attestation refused: "
                             f"{_reason(err)}") from None
    return predicate(out, pinned_ref)


def predicate(verified: str, pinned_ref: str) -> dict:
    """The CycloneDX predicate among the statements cosign printed (one DSSE envelope a
    line, its payload an in-toto statement in base64). Attestations add up, one for each
    `attest`: copies of one SBOM are one, different ones are refused."""
    statements = [json.loads(base64.b64decode(json.loads(line)["payload"]))
                  for line in verified.splitlines() if line.strip()]
    sboms = [s["predicate"] for s in statements
             if s.get("predicateType", "").startswith("https://cyclonedx.org/bom")]
    if not sboms:
        raise SignatureError(f"{pinned_ref}: no CycloneDX SBOM among its attestations")
    if any(found != sboms[0] for found in sboms[1:]):
        raise SignatureError(f"{pinned_ref}: {len(sboms)} different SBOMs are attested")
    return sboms[0]
