"""Fail fast on a Ray address nobody answers at.

``ray.init(address=...)`` retries an unreachable GCS for minutes with no output; one TCP connect
with a timeout tells the user in seconds (and names the fix) before any work starts.
"""

from __future__ import annotations

import socket

from robotr1_data.errors import UsageError


def split_address(address: str):
    """(host, port) of ``host:port`` or ``ray://host:port``; None when there is no port."""
    rest = address.split("://", 1)[-1].strip().rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def check_ray_address(address: str, timeout: float) -> None:
    hp = split_address(address)
    if hp is None:
        raise UsageError(f"--ray '{address}' is not an address; pass 'auto' or HOST:PORT "
                         "(e.g. head-node:6379 or ray://head-node:10001)")
    try:
        socket.create_connection(hp, timeout=timeout).close()
    except OSError as exc:
        why = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
        raise UsageError(f"cannot reach Ray at '{address}' ({why} after at most {timeout:g} s); "
                         "start a cluster with `ray start --head`, check the address, or pass "
                         "--ray auto for a local one") from None
