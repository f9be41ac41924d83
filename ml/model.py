"""The model artifact: a plain JSON of a scaled logistic regression, with what it was fitted on.

JSON rather than a pickle: it loads with any scikit-learn / numpy version, can be read and
diffed, and cannot execute code. The artifact carries its version, the model features, the
table columns it was trained against (predict refuses a table that differs), the training
seasons, the Elo parameters, its metrics and the library versions that produced it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml.elo import EloParams
from nba_elt.errors import BadInput, NbaEltError

if TYPE_CHECKING:  # scikit-learn is needed to train, not to predict
    from sklearn.pipeline import Pipeline

    from nba_elt.config import Settings

log = logging.getLogger(__name__)

# The model that ships with the package (trained on 2022-23 + 2023-24, docs/ml.md).
DEFAULT_MODEL_PATH = Path(__file__).parent / "models" / "current.json"


def model_dir(settings: Settings | None = None) -> Path:
    from nba_elt.config import get_settings

    return Path((settings or get_settings()).model_dir)


def active_path(settings: Settings | None = None) -> Path:
    """The operator's active model (absent: predict uses the shipped one)."""
    return model_dir(settings) / "current.json"


FORMAT = "nba-elt-logreg/1"


class ModelMismatch(NbaEltError):
    """The model was trained against other feature columns than the table has now."""


def build_pipeline(c: float = 1.0) -> Pipeline:
    """Standard scaling then an L2 logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [("scale", StandardScaler()), ("logreg", LogisticRegression(C=c, max_iter=1000))]
    )


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("scikit-learn", "numpy", "pandas", "nba-elt"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "unknown"
    return versions


@dataclass
class ModelArtifact:
    features: list[str]
    table_columns: list[str]
    scale_mean: list[float]
    scale_std: list[float]
    coef: list[float]
    intercept: float
    train_seasons: list[int]
    n_train: int
    elo: dict[str, float]
    metrics: dict[str, Any] = field(default_factory=dict)
    trained_at: str = ""
    libraries: dict[str, str] = field(default_factory=dict)
    version: str = ""
    format: str = FORMAT

    @classmethod
    def from_pipeline(
        cls,
        pipeline: Pipeline,
        *,
        features: list[str],
        table_columns: list[str],
        train_seasons: list[int],
        n_train: int,
        elo: EloParams,
        metrics: dict[str, Any],
    ) -> ModelArtifact:
        scaler = pipeline.named_steps["scale"]
        logreg = pipeline.named_steps["logreg"]
        artifact = cls(
            features=list(features),
            table_columns=list(table_columns),
            scale_mean=[float(x) for x in scaler.mean_],
            scale_std=[float(x) for x in scaler.scale_],
            coef=[float(x) for x in logreg.coef_[0]],
            intercept=float(logreg.intercept_[0]),
            train_seasons=sorted(int(s) for s in train_seasons),
            n_train=int(n_train),
            elo=elo.as_dict(),
            metrics=metrics,
            trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            libraries=library_versions(),
        )
        artifact.version = artifact.make_version()
        return artifact

    def make_version(self) -> str:
        """Stable id of what the model computes: seasons + a hash of its numbers."""
        numbers = json.dumps(
            [self.features, self.scale_mean, self.scale_std, self.coef, self.intercept, self.elo],
            sort_keys=True,
        )
        digest = hashlib.sha256(numbers.encode()).hexdigest()[:10]
        seasons = "-".join(str(s) for s in self.train_seasons)
        return f"logreg-{seasons}-{digest}"

    @property
    def elo_params(self) -> EloParams:
        return EloParams(**self.elo)

    def predict_home_prob(self, matrix: pd.DataFrame) -> np.ndarray:
        """P(home team wins) for each row of the model matrix."""
        if list(matrix.columns) != self.features:
            raise ModelMismatch(
                f"model {self.version} expects features {self.features}, got {list(matrix.columns)}"
            )
        x = (matrix.to_numpy(dtype=float) - np.array(self.scale_mean)) / np.array(self.scale_std)
        z = x @ np.array(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def check_table_columns(self, columns: list[str], table: str) -> None:
        """Refuse a feature table whose feature columns differ from those at training time."""
        missing = [c for c in self.table_columns if c not in columns]
        extra = [c for c in columns if c not in self.table_columns]
        if missing or extra:
            parts = [f"missing from the table: {missing}"] if missing else []
            parts += [f"not known to the model: {extra}"] if extra else []
            raise ModelMismatch(
                f"model {self.version} was trained on other feature columns than {table} has "
                f"({'; '.join(parts)}). Retrain with `invoke train`, or rebuild the features "
                "with the dbt models the model was trained on."
            )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.__dict__, indent=2) + "\n")
        tmp.replace(path)
        log.info("model %s written to %s", self.version, path)
        return path


def load_model(path: str | Path | None = None, settings: Settings | None = None) -> ModelArtifact:
    """Read an artifact; BadInput when missing or not an artifact of this format."""
    if not path:
        active = active_path(settings)
        path = active if active.is_file() else DEFAULT_MODEL_PATH
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"no model at {path}: train one with `invoke train`")
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path} is not a readable model artifact ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise BadInput(f"{path} is not a {FORMAT} model artifact")
    try:
        artifact = ModelArtifact(**payload)
    except TypeError as exc:
        raise BadInput(f"{path} is not a complete model artifact ({exc})") from None
    if not (len(artifact.features) == len(artifact.coef) == len(artifact.scale_mean)):
        raise BadInput(f"{path}: features and coefficients differ in length")
    return artifact
