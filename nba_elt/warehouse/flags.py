"""nba_source.feature_flags: which sources the daily run ingests (and verify requires)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine

from nba_elt.errors import BadInput

log = logging.getLogger(__name__)


@dataclass
class Flag:
    flag: str
    is_enabled: bool
    description: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def read_flags(engine: Engine) -> list[Flag]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("select flag, is_enabled, description from nba_source.feature_flags order by 1")
        ).all()
    return [Flag(r.flag, bool(r.is_enabled), r.description) for r in rows]


def _names(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [p.strip() for p in parts if p and p.strip()]


def set_flags(
    engine: Engine,
    enable: str | Iterable[str] | None = None,
    disable: str | Iterable[str] | None = None,
) -> list[str]:
    """Switch flags on / off in one transaction; the flags whose value changed.

    BadInput (nothing written) for a flag the table does not have, or one named both ways.
    """
    on, off = _names(enable), _names(disable)
    both = sorted(set(on) & set(off))
    if both:
        raise BadInput(f"{', '.join(both)}: both --enable and --disable")
    known = {f.flag: f.is_enabled for f in read_flags(engine)}
    unknown = sorted(set(on + off) - known.keys())
    if unknown:
        raise BadInput(
            f"unknown feature flag(s) {', '.join(unknown)}; the flags are {', '.join(known)}"
        )
    wanted = {name: True for name in on} | {name: False for name in off}
    changed = sorted(name for name, value in wanted.items() if known[name] != value)
    if changed:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "update nba_source.feature_flags set is_enabled = :e, _loaded_at = now() "
                    "where flag = :f"
                ),
                [{"e": wanted[name], "f": name} for name in changed],
            )
        log.info("feature flags changed: %s", ", ".join(f"{n}={wanted[n]}" for n in changed))
    return changed
