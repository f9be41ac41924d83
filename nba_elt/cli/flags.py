"""Task body for `invoke flags`: show and set nba_source.feature_flags."""

from __future__ import annotations

from nba_elt.cli import TaskResult, console


def flags_task(enable: str | None = None, disable: str | None = None) -> TaskResult:
    from rich.table import Table

    import nba_elt

    changed, flags = nba_elt.feature_flags(enable=enable, disable=disable)
    table = Table(title="nba_source.feature_flags", title_justify="left")
    for column in ("flag", "enabled", "description"):
        table.add_column(column)
    for f in flags:
        table.add_row(f.flag, "yes" if f.is_enabled else "no", f.description or "")
    console.print(table)
    enabled = [f.flag for f in flags if f.is_enabled]
    state = f"enabled: {', '.join(enabled) or 'none'}"
    if enable or disable:
        message = (f"changed {', '.join(changed)}; " if changed else "nothing to change; ") + state
    else:
        message = state
    return TaskResult(
        0,
        message,
        {"status": "succeeded", "changed": changed, "flags": [f.as_dict() for f in flags]},
    )
