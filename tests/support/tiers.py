"""The test tiers: which tests need a browser, daemons, the benchmark pages or an install.

``make test`` runs every test. ``make check`` runs the fast tier, ``-m "not browser and not
daemons and not bench and not install"``, with ``MIRROR_TEST_TIER=check`` in the
environment: then the helpers that start Chromium or a daemon, or read the benchmark pages,
fail at once, naming the marker the test lacks. So a test that needs one and is not marked
fails in ``make check`` instead of passing only on machines that have the program.

Markers are applied by ``mark_by_use`` from what a test uses: the fixtures in its closure
(by name, and the Redis side of ``store_under_test``), and the helpers its function or its
fixtures call (by name, in their source). What it cannot see (a module's own helper that
starts a daemon) is marked by hand in the test module.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import os
import re
from collections.abc import Callable

import pytest

TIERS = {
    "browser": "needs Chromium (tests.support.browser)",
    "daemons": "needs redis-server, nginx, tor or caddy",
    "bench": "needs the benchmark pages (make bench-data)",
    "install": "builds and installs the wheel into a fresh venv",
}

# Names whose use in a test's (or its fixtures') source means the tier.
_USES = {
    "browser": re.compile(r"\b(chromium|launch|new_context)\("),
    "daemons": re.compile(
        r"\b(running_redis|nginx|caddy|caching_proxy|require|RedisServer)\(|\bredis_server\b"
    ),
    "bench": re.compile(r"\bbench_(data|readability)\("),
}
_FIXTURES = {"redis_server": "daemons", "chromium_browser": "browser"}


def fast_tier() -> bool:
    """True under ``make check``: nothing may start a browser or a daemon, or read the pages."""
    return os.environ.get("MIRROR_TEST_TIER") == "check"


def refuse_in_fast_tier(tier: str, what: str) -> None:
    """Fail, naming the marker, when ``make check`` reaches a helper of a slower tier."""
    if fast_tier():
        raise RuntimeError(
            f"{what} in the fast tier: mark the test @pytest.mark.{tier} ({TIERS[tier]})"
        )


def _source(function: Callable[..., object]) -> str:
    """A function's source, decorators included, cut from its file parsed once: what
    ``inspect.getsource`` gives, without tokenizing the file again for every function."""
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    lines = linecache.getlines(code.co_filename)
    end = _function_ends(code.co_filename).get(code.co_firstlineno)
    return "".join(lines[code.co_firstlineno - 1 : end]) if end else ""


@functools.cache
def _function_ends(filename: str) -> dict[int, int]:
    """Each function of a file: its first line (its first decorator's) to its last line."""
    try:
        tree = ast.parse("".join(linecache.getlines(filename)))
    except SyntaxError:
        return {}
    return {
        min([node.lineno] + [d.lineno for d in node.decorator_list]): node.end_lineno or 0
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


@functools.cache
def _own_tiers(function: Callable[..., object]) -> tuple[frozenset[str], tuple[object, ...]]:
    """The tiers named in one function's source, and the test functions it calls by name
    (through its module's globals); cached, as every test reads the same fixtures."""
    text = _source(function)
    scope = getattr(function, "__globals__", {})
    called = tuple(
        scope[name]
        for name in _CALL.findall(text)
        if inspect.isfunction(scope.get(name)) and _ours(scope[name])
    )
    return frozenset(tier for tier, pattern in _USES.items() if pattern.search(text)), called


def _ours(function: object) -> bool:
    return str(getattr(function, "__module__", "")).startswith("tests")


_CALL = re.compile(r"\b([A-Za-z_][A-Za-z_0-9]*)\(")


def _tiers_called(functions: list[object]) -> set[str]:
    """The tiers named in ``functions`` and in every function of the tests they call by
    name: a test module's own helper that starts a daemon counts."""
    found: set[str] = set()
    seen: set[int] = set()
    todo = [f for f in functions if f is not None]
    while todo:
        function = inspect.unwrap(todo.pop())  # type: ignore[arg-type]
        if id(function) in seen:
            continue
        seen.add(id(function))
        tiers, called = _own_tiers(function)
        found |= tiers
        todo.extend(called)
    return found


def tiers_used(item: pytest.Item) -> set[str]:
    """The tiers a collected test needs, from its fixtures and its helpers' names."""
    found: set[str] = set()
    names: list[str] = list(getattr(item, "fixturenames", ()))
    found.update(_FIXTURES[name] for name in names if name in _FIXTURES)
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "redis" in callspec.params.values():
        found.add("daemons")
    functions: list[object] = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    if info is not None:
        for defs in info.name2fixturedefs.values():
            functions.extend(d.func for d in defs if _ours(d.func))
    return found | _tiers_called(functions)


def mark_by_use(items: list[pytest.Item]) -> None:
    for item in items:
        for tier in sorted(tiers_used(item) - {m.name for m in item.iter_markers()}):
            item.add_marker(getattr(pytest.mark, tier))
