"""The operator's models: the active one, the candidate, every model trained, the shipped one.

    NBA_ELT_MODEL_DIR/
        current.json        the active model: what `invoke predict` uses (absent: the shipped one)
        candidate.json      the last model `invoke train` fitted without --activate
        history/<version>.json   every model trained here, so any of them can be re-activated

`invoke train` writes a candidate unless told `--activate`; `invoke model` lists the models
and activates one (`shipped` goes back to the model that ships in ml/models/current.json).
Activating is a file copy followed by an atomic rename, so predict never reads half a file.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.model import DEFAULT_MODEL_PATH, ModelArtifact, active_path, load_model, model_dir
from nba_elt.errors import BadInput

if TYPE_CHECKING:
    from nba_elt.config import Settings

log = logging.getLogger(__name__)

CANDIDATE_NAME = "candidate.json"
HISTORY_DIR = "history"
SHIPPED = "shipped"
CANDIDATE = "candidate"


def candidate_path(settings: Settings | None = None) -> Path:
    return model_dir(settings) / CANDIDATE_NAME


def history_path(version: str, settings: Settings | None = None) -> Path:
    return model_dir(settings) / HISTORY_DIR / f"{version}.json"


@dataclass
class ModelInfo:
    """One model the operator can choose, with what it was trained on and its metrics."""

    role: str  # active / candidate / shipped / history
    version: str
    path: str
    active: bool
    train_seasons: list[int]
    n_train: int
    trained_at: str
    metrics: dict[str, Any]

    @classmethod
    def of(cls, role: str, path: Path, artifact: ModelArtifact, active: bool) -> ModelInfo:
        return cls(
            role=role,
            version=artifact.version,
            path=str(path),
            active=active,
            train_seasons=list(artifact.train_seasons),
            n_train=artifact.n_train,
            trained_at=artifact.trained_at,
            metrics=headline_metrics(artifact),
        )

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def headline_metrics(artifact: ModelArtifact) -> dict[str, Any]:
    """In-sample accuracy / log loss, and the test season's when it was evaluated on one."""
    metrics = artifact.metrics or {}
    train = metrics.get("train") or {}
    out: dict[str, Any] = {
        "train_accuracy": train.get("accuracy"),
        "train_log_loss": train.get("log_loss"),
    }
    test = (metrics.get("test") or {}).get("model")
    if test:
        out |= {
            "test_season": metrics.get("test_season"),
            "test_accuracy": test.get("accuracy"),
            "test_log_loss": test.get("log_loss"),
        }
    return out


def active_model(settings: Settings | None = None) -> tuple[ModelArtifact, str]:
    """The model predict uses and its role: `active` (trained here) or `shipped`."""
    path = active_path(settings)
    if path.is_file():
        return load_model(path), "active"
    return load_model(DEFAULT_MODEL_PATH), SHIPPED


def save_trained(
    artifact: ModelArtifact, *, activate: bool, settings: Settings | None = None
) -> Path:
    """Keep the model in the history; make it the candidate, or the active model if asked."""
    artifact.save(history_path(artifact.version, settings))
    target = active_path(settings) if activate else candidate_path(settings)
    return artifact.save(target)


def list_models() -> list[ModelInfo]:
    """Every model the operator can activate, the active one first."""
    active_version = active_model()[0].version
    found: list[ModelInfo] = []
    seen: set[str] = set()

    def add(role: str, path: Path) -> None:
        if not path.is_file():
            return
        try:
            artifact = load_model(path)
        except BadInput as exc:
            log.warning("skipping %s: %s", path, exc)
            return
        if role == "history" and artifact.version in seen:
            return
        seen.add(artifact.version)
        found.append(ModelInfo.of(role, path, artifact, artifact.version == active_version))

    add("active", active_path())
    add(CANDIDATE, candidate_path())
    add(SHIPPED, DEFAULT_MODEL_PATH)
    history = model_dir() / HISTORY_DIR
    if history.is_dir():
        for path in sorted(history.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
            add("history", path)
    return found


def resolve(name: str) -> Path:
    """`shipped`, `candidate`, a model version (or a unique prefix of one) -> its file."""
    name = name.strip()
    if name == SHIPPED:
        return DEFAULT_MODEL_PATH
    if name == CANDIDATE:
        if not candidate_path().is_file():
            raise BadInput("there is no candidate model: train one with `invoke train`")
        return candidate_path()
    models = list_models()
    matches = [m for m in models if m.version == name]
    matches = matches or [m for m in models if m.version.startswith(name)]
    versions = sorted({m.version for m in matches})
    if len(versions) == 1:
        return Path(matches[0].path)
    known = ", ".join(sorted({m.version for m in models})) or "none"
    if not versions:
        raise BadInput(f"no model {name!r}; choose shipped, candidate or a version ({known})")
    raise BadInput(f"{name!r} matches several models ({', '.join(versions)}); give more of it")


def activate(name: str) -> ModelArtifact:
    """Make a model the one predict uses; `shipped` removes the operator's active model."""
    source = resolve(name)
    artifact = load_model(source)  # refuse a broken file before touching the active one
    target = active_path()
    if source == DEFAULT_MODEL_PATH:
        if target.is_file():
            previous = load_model(target)
            if not history_path(previous.version).is_file():
                previous.save(history_path(previous.version))
            target.unlink()
        log.info("predict now uses the shipped model %s", artifact.version)
        return artifact
    if source.resolve() != target.resolve():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".json.tmp")
        shutil.copyfile(source, tmp)
        tmp.replace(target)
    if not history_path(artifact.version).is_file():
        artifact.save(history_path(artifact.version))
    log.info("predict now uses model %s", artifact.version)
    return artifact
