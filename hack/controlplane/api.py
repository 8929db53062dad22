"""Small HTTPS client for the control plane's own health checks (no kubectl fork per poll)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path


def client_context(ca_cert: Path, client_cert: Path, client_key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_cert))
    ctx.load_cert_chain(str(client_cert), str(client_key))
    return ctx


def insecure_context() -> ssl.SSLContext:
    """For controller-manager and scheduler /healthz: self-signed serving certificates."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def get(url: str, ctx: ssl.SSLContext, timeout: float = 2.0) -> tuple[int, str]:
    """(status, body); status 0 when the server is not reachable."""
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def get_json(url: str, ctx: ssl.SSLContext) -> dict | None:
    status, body = get(url, ctx)
    return json.loads(body) if status == 200 else None
