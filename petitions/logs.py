"""The library's loggers, made when something is first logged.

``logging`` is a large import that a command which logs nothing (``show``,
``list``) does not need: :func:`get_logger` returns a stand-in that imports
it, and makes the real ``logging.Logger`` of that name, on the first call of
one of its methods.  A face that configures the library's loggers (the
command line quiets them and sends the notice of a created key file to
stderr) registers its set-up with :func:`when_logging`: it runs once, just
before the first record of any of these loggers is made (at once if one
already was).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

_setups: list[Callable[[], None]] = []
_started = False


def when_logging(setup: Callable[[], None]) -> None:
    """Run ``setup`` before the library first logs (now, if it already has)."""
    if _started:
        setup()
    elif setup not in _setups:
        _setups.append(setup)


def _start() -> None:
    global _started
    if _started:
        return
    _started = True
    while _setups:
        _setups.pop(0)()


class Logger:
    """A ``logging.Logger`` of ``name``, made on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: logging.Logger | None = None

    @property
    def logger(self) -> logging.Logger:
        """The real logger (imports ``logging`` and runs the set-ups first)."""
        if self._logger is None:
            import logging

            _start()
            self._logger = logging.getLogger(self.name)
        return self._logger

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.logger.debug(msg, *args, stacklevel=2, **kwargs)

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.logger.info(msg, *args, stacklevel=2, **kwargs)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.logger.warning(msg, *args, stacklevel=2, **kwargs)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.logger.error(msg, *args, stacklevel=2, **kwargs)


def get_logger(name: str) -> Logger:
    """The logger ``name`` (e.g. ``"petitions.privacy"``), made on first use."""
    return Logger(name)
