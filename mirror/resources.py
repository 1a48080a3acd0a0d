"""The files the mirror reads at run time, found through ``importlib.resources`` only.

Nothing is looked up beside the source tree: the wheel carries every file (the stylesheet
and icon as ``mirror.static``, built from the project's top-level ``static/``), so an
installed mirror works from any directory, in a container or a pipx venv. ``mirror serve``
checks them all at start-up, so a wheel built without one stops there with one line
instead of answering 500 to every page that needs it.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from mirror.errors import ConfigError

STATIC = "mirror.static"
# (package, path inside it): one file or folder for each kind the mirror cannot work without.
REQUIRED: tuple[tuple[str, str], ...] = (
    (STATIC, "mirror.css"),
    (STATIC, "favicon.svg"),
    ("mirror.render", "templates"),
    ("mirror.render", "locale"),
    ("mirror.transform", "data/builtin-filters.txt"),
    ("mirror.transform", "data/tracking-params.txt"),
    ("mirror.transform", "data/site-rules"),
    ("mirror.transform", "data/challenge-markers.txt"),
)


def packaged(package: str, path: str) -> Traversable:
    """A file or folder inside an installed package (``path`` uses ``/``)."""
    return files(package).joinpath(*path.split("/"))


def is_present(package: str, path: str) -> bool:
    """Whether the package is installed and holds the file or folder."""
    try:
        found = packaged(package, path)
    except ModuleNotFoundError:
        return False
    return found.is_file() or found.is_dir()


def missing(required: tuple[tuple[str, str], ...] | None = None) -> list[str]:
    """The required resources (``REQUIRED`` by default) the installation lacks, as
    ``package:path``."""
    wanted = REQUIRED if required is None else required
    return [f"{package}:{path}" for package, path in wanted if not is_present(package, path)]


def check() -> None:
    """Refuse to start an installation that lacks a resource it would fail on later."""
    absent = missing()
    if absent:
        raise ConfigError(
            f"the installation lacks {', '.join(absent)}; reinstall mirror from a complete wheel"
        )


@cache
def static_names() -> frozenset[str]:
    """The files under ``static/`` that may be served or exported (none if it is absent)."""
    try:
        folder = files(STATIC)
    except ModuleNotFoundError:
        return frozenset()
    return frozenset(p.name for p in folder.iterdir() if p.is_file() and p.name != "__init__.py")


@cache
def static_bytes(name: str) -> bytes:
    """A static file's bytes, read once (``name`` must be one of ``static_names``)."""
    return files(STATIC).joinpath(name).read_bytes()
