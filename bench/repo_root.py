"""Puts the repository root on ``sys.path``, so a benchmark can import ``tests.support.servers``.

A benchmark runs as ``.venv/bin/python bench/x.py`` from the root, which puts ``bench/`` on
the path but not the root; importing this module first (for its effect) shares the tests'
launchers (a free port, nginx, Redis) instead of writing them again.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
