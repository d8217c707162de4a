"""The sd_notify protocol, without a dependency: one datagram per message to
``$NOTIFY_SOCKET`` (a path, or an abstract socket written ``@name``). With no socket
(not started by systemd) every call does nothing."""

from __future__ import annotations

import logging
import os
import socket

_LOGGER = logging.getLogger(__name__)


class Notifier:
    """Sends READY=1, STATUS=…, WATCHDOG=1, STOPPING=1, EXTEND_TIMEOUT_USEC=… to systemd."""

    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def send(self, *fields: str) -> bool:
        """Send one message of ``KEY=value`` lines; False (logged once) if it failed."""
        if self._socket is None:
            return False
        try:
            self._socket.sendto("\n".join(fields).encode(), self._address)
            return True
        except OSError as exc:
            _LOGGER.warning("sd_notify to %r failed (%s); not notifying again", self._address, exc)
            self.close()
            return False

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
