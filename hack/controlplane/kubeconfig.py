"""Writes kubeconfig files with the credentials embedded, so a copy works anywhere."""

from __future__ import annotations

import base64
from pathlib import Path

CONTEXT = "handtracker-local"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def render(server: str, ca_cert: Path, client_cert: Path, client_key: Path, user: str) -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: {server}
    certificate-authority-data: {_b64(ca_cert)}
users:
- name: {user}
  user:
    client-certificate-data: {_b64(client_cert)}
    client-key-data: {_b64(client_key)}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: {user}
current-context: {CONTEXT}
"""


def write(target: Path, text: str) -> None:
    """Atomic write: a reader never sees half a kubeconfig."""
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(target)
