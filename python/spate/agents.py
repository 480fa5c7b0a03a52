"""Usage, cost and delegation reports over Claude Code transcripts — the reports of
``spate agents REPORT --json``, as dicts (the same shapes and numbers; ``daily`` has the shape
of ``ccusage claude daily --json``).

    import spate.agents
    report = spate.agents.daily(since="2026-11-01", tz="Europe/Paris")
    for day in report["daily"]:
        print(day["date"], day["totalCost"])

``path``: a Claude config folder (with ``projects/``) or a ``projects/`` folder, or a list of
them; default ``CLAUDE_CONFIG_DIR``, else ``~/.config/claude`` and ``~/.claude``. ``tz``: an
IANA time zone for dates (default: the system's). ``mode``: ``"auto"`` (a line's ``costUSD``
if any, else computed), ``"calculate"`` or ``"display"``. ``cache``: use spate's incremental
cache (a re-run reads only what changed). Costs are exact decimals: ``float`` by default,
``decimal.Decimal`` with ``decimal=True``. Problems that do not stop a report (unpriced
models, skipped lines) are issued as ``warnings.warn``.
"""

import decimal as _decimal
import json as _json
import os as _os
import warnings as _warnings

from . import _native

__all__ = ["daily", "weekly", "monthly", "session", "model", "project", "delegations"]


def _report(kind, path, since, until, tz, mode, cache, cache_dir, pricing, start_of_week,
            descending, marathon, decimal):
    if path is None:
        paths = []
    elif isinstance(path, (str, _os.PathLike)):
        paths = [_os.fspath(path)]
    else:
        paths = [_os.fspath(p) for p in path]
    text, warnings = _native.agents_report(
        kind, path=paths, since=since, until=until, tz=tz, mode=mode, cache=cache,
        cache_dir=cache_dir, pricing=pricing, start_of_week=start_of_week,
        descending=descending, marathon=marathon)
    for w in warnings:
        _warnings.warn(f"spate: {w}", stacklevel=3)
    return _json.loads(text, parse_float=_decimal.Decimal if decimal else float)


def _make(kind, doc):
    def report(path=None, *, since=None, until=None, tz=None, mode="auto", cache=True,
               cache_dir=None, pricing=None, start_of_week="sunday", descending=False,
               decimal=False):
        return _report(kind, path, since, until, tz, mode, cache, cache_dir, pricing,
                       start_of_week, descending, 20, decimal)
    report.__name__ = kind
    report.__doc__ = doc
    return report


daily = _make("daily", "Usage and cost per local date (``spate agents daily --json``).")
weekly = _make("weekly", "Usage and cost per week (``start_of_week``: sunday or monday).")
monthly = _make("monthly", "Usage and cost per month.")
session = _make("session", "Usage and cost per session.")
model = _make("model", "Usage and cost per model.")
project = _make("project", "Usage and cost per project.")


def delegations(path=None, *, since=None, until=None, tz=None, mode="auto", cache=True,
                cache_dir=None, pricing=None, marathon=20, decimal=False):
    """Delegations to sub-agents per agent type and month, and marathon sessions (more than
    ``marathon`` delegations): ``spate agents delegations --json``."""
    return _report("delegations", path, since, until, tz, mode, cache, cache_dir, pricing,
                   "sunday", False, marathon, decimal)
