"""Task body for `invoke model`: list the models, activate one (ml/registry.py)."""

from __future__ import annotations

from nba_elt.cli import TaskResult, console


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("" if value is None else str(value))


def _print_models(models: list) -> None:
    from rich.table import Table

    table = Table(title="models (* = the one predict uses)", title_justify="left")
    for column in ("", "role", "version", "seasons", "games", "train acc", "test acc", "trained"):
        table.add_column(column, no_wrap=column in ("version", "trained"))
    for m in models:
        test = m.metrics.get("test_accuracy")
        test_text = f"{_fmt(test)} ({m.metrics.get('test_season')})" if test is not None else ""
        table.add_row(
            "*" if m.active else "",
            m.role,
            m.version,
            ",".join(str(s) for s in m.train_seasons),
            str(m.n_train),
            _fmt(m.metrics.get("train_accuracy")),
            test_text,
            m.trained_at[:16],
        )
    console.print(table)


def model_task(activate: str | None = None) -> TaskResult:
    """List the models; with `activate` (shipped, candidate or a version) switch to it."""
    import nba_elt

    message = ""
    if activate:
        artifact = nba_elt.activate_model(activate)
        message = f"predict now uses model {artifact.version}" + (
            " (the shipped model)" if activate.strip() == "shipped" else ""
        )
    models = nba_elt.models()
    _print_models(models)
    active = next((m for m in models if m.active), None)
    if not message:
        where = f"{active.role} model {active.version}" if active else "no model"
        message = f"{len(models)} model(s); predict uses the {where}"
    return TaskResult(
        0,
        message,
        {
            "status": "succeeded",
            "active": active.version if active else None,
            "models": [m.as_dict() for m in models],
        },
    )
