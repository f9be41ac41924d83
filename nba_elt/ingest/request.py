"""What the operator asked a backfill to do, validated before anything is read or written.

The flags of `invoke backfill` (tasks.py) and the keywords of `nba_elt.backfill` are
parsed here and nowhere else: `BackfillRequest.from_flags` (settings: the sources and the
range limit) or `parse_request` (pure). Every mistake is a BadInput (exit 2) raised before
the warehouse is touched, so bad input never writes anything, not even the ledger.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from nba_elt.dates import parse_date, resolve_dates
from nba_elt.errors import BadInput

if TYPE_CHECKING:
    from nba_elt.config import Settings

NBA_GAME_ID_RE = re.compile(r"^00[1-6]\d{7}$")  # 0022200552: resolved before anything runs
PROVIDERS = ("bbref", "nba", "auto")


@dataclass(frozen=True)
class BackfillRequest:
    """A validated backfill request. `sources` None means: the enabled feature flags."""

    dates: tuple[dt.date, ...] = ()
    game_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] | None = None
    resume: int | None = None
    dry_run: bool = False
    offline: bool = False
    force: bool = False
    refresh: bool = False
    predict: bool = False
    provider: str = "auto"  # bbref | nba | auto (bbref, then the NBA for what remains)
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def from_flags(cls, settings: Settings | None = None, **flags: Any) -> BackfillRequest:
        """The request `invoke backfill`'s flags (or nba_elt.backfill's keywords) describe."""
        from nba_elt.config import get_settings
        from nba_elt.sources import SOURCES

        max_days = (settings or get_settings()).max_backfill_days
        return parse_request(valid_sources=tuple(SOURCES), max_days=max_days, **flags)

    def args(self) -> dict[str, Any]:
        """The request as recorded in ops.backfill_runs.args (JSON)."""
        return {
            "dates": [d.isoformat() for d in self.dates],
            "games": list(self.game_ids),
            "sources": list(self.sources) if self.sources is not None else None,
            "resume": self.resume,
            "offline": self.offline,
            "force": self.force,
            "refresh": self.refresh,
            "predict": self.predict,
            "provider": self.provider,
        }


RESUMED_FLAGS = ("offline", "force", "refresh", "predict")


def resume_command(run_id: int, args: dict[str, Any] | None = None) -> str:
    """The command that resumes a run, with the flags it re-uses spelled out.

    `invoke backfill --resume N` alone re-uses them too (from ops.backfill_runs.args); the
    hint names them so the operator sees what the resume will do.
    """
    flags = [f"--{name}" for name in RESUMED_FLAGS if (args or {}).get(name)]
    return " ".join(["invoke", "backfill", "--resume", str(run_id), *flags])


def with_original_flags(request: BackfillRequest, original: dict[str, Any]) -> BackfillRequest:
    """A resume runs with the flags of the run it resumes, plus any given now; its provider
    is the original run's unless one is given now (auto, the default, counts as none)."""
    provider = request.provider
    if provider == "auto" and original.get("provider") in PROVIDERS:
        provider = original["provider"]
    return replace(
        request,
        provider=provider,
        **{name: bool(getattr(request, name) or original.get(name)) for name in RESUMED_FLAGS},
    )


def parse_sources(raw: str, valid: tuple[str, ...]) -> tuple[str, ...]:
    """`boxscores,pbp` -> ("boxscores", "pbp") in the canonical order of `valid`."""
    names = [part.strip().lower() for part in str(raw).split(",") if part.strip()]
    if not names:
        raise BadInput(f"--sources is empty; valid sources: {', '.join(valid)}")
    unknown = sorted({n for n in names if n not in valid})
    if unknown:
        raise BadInput(
            f"unknown source{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"valid sources: {', '.join(valid)}"
        )
    return tuple(s for s in valid if s in names)


def parse_provider(raw: str | None) -> str:
    provider = (raw or "auto").strip().lower()
    if provider not in PROVIDERS:
        raise BadInput(f"--provider must be one of {', '.join(PROVIDERS)}, got {raw!r}")
    return provider


def parse_game_ids(raw: str) -> tuple[str, ...]:
    """`201901010DEN,201810160gsw,0022200552` -> validated, de-duplicated ids.

    Warehouse (basketball-reference) ids are checked here; NBA game ids are kept as given
    and resolved to warehouse ids by the backfill before anything is written.
    """
    from nba_elt.extract.html import date_of_game
    from nba_elt.sources.base import check_game_id

    ids: list[str] = []
    bad: list[str] = []
    for part in filter(None, (p.strip() for p in str(raw).split(","))):
        if NBA_GAME_ID_RE.match(part):
            ids.append(part)
            continue
        try:
            game_id = check_game_id(part.upper())
            parse_date(date_of_game(game_id).isoformat(), flag=f"game {game_id}")
        except BadInput as exc:
            bad.append(f"{part} ({exc})")
            continue
        ids.append(game_id)
    if bad:
        raise BadInput(
            f"--games: not a game id: {', '.join(bad)}. A game id is YYYYMMDD0 + the home "
            "team's code, e.g. 201901010DEN, or the NBA's id, e.g. 0022200552"
        )
    if not ids:
        raise BadInput("--games is empty; give ids like 201901010DEN,201810160GSW")
    return tuple(dict.fromkeys(ids))  # without duplicates, in the order given


def parse_resume(raw: Any) -> int:
    try:
        run_id = int(str(raw).strip())
    except ValueError:
        raise BadInput(f"--resume takes a run id (a whole number), got {raw!r}") from None
    if run_id <= 0:
        raise BadInput(f"--resume takes a run id (a positive number), got {raw!r}")
    return run_id


def _text(value: Any) -> str | None:
    """A flag's value as text: a date as YYYY-MM-DD, a list (Python callers) comma-separated."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, set)):
        return ",".join(str(v) for v in value)
    return str(value.date() if isinstance(value, dt.datetime) else value)


def parse_request(
    *,
    date: str | dt.date | None = None,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    games: str | list[str] | None = None,
    sources: str | list[str] | None = None,
    dry_run: bool = False,
    resume: Any = None,
    offline: bool = False,
    force: bool = False,
    refresh: bool = False,
    predict: bool = False,
    yes: bool = False,
    provider: str | None = None,
    valid_sources: tuple[str, ...],
    max_days: int,
) -> BackfillRequest:
    """Validate the task's flags; BadInput (exit 2) on any mistake, before any I/O."""
    date, start, end, games, sources = map(_text, (date, start, end, games, sources))
    notes: list[str] = []
    if predict and not refresh:
        refresh = True
        notes.append("--predict implies --refresh (predictions read the refreshed marts)")
    common = dict(
        dry_run=bool(dry_run),
        offline=bool(offline),
        force=bool(force),
        refresh=bool(refresh),
        predict=bool(predict),
        provider=parse_provider(provider),
    )
    if resume not in (None, "", False):
        selectors = [
            flag
            for flag, value in (
                ("--date", date),
                ("--start", start),
                ("--end", end),
                ("--games", games),
                ("--sources", sources),
            )
            if value
        ]
        if selectors:
            raise BadInput(
                f"--resume re-runs the units of an earlier run; it does not take "
                f"{', '.join(selectors)} (start a new backfill for other units)"
            )
        return BackfillRequest(resume=parse_resume(resume), notes=tuple(notes), **common)

    chosen_sources = parse_sources(sources, valid_sources) if sources is not None else None
    if games:
        if date or start or end:
            raise BadInput("give either --games or dates (--date, --start/--end), not both")
        return BackfillRequest(
            game_ids=parse_game_ids(games), sources=chosen_sources, notes=tuple(notes), **common
        )
    if not (date or start or end):
        raise BadInput(
            "say what to backfill: --date YYYY-MM-DD, --start/--end, --games ids, "
            "or --resume RUN_ID"
        )
    dates = resolve_dates(date, start, end)
    if len(dates) > max_days and not yes:
        raise BadInput(
            f"{len(dates)} days ({dates[0]} to {dates[-1]}) is more than the maximum of "
            f"{max_days} (NBA_ELT_MAX_BACKFILL_DAYS); add --yes to run it anyway, "
            "or split the range"
        )
    return BackfillRequest(dates=tuple(dates), sources=chosen_sources, notes=tuple(notes), **common)
