"""The raw page archive: every page fetched from the site, kept with its URL, status and time.

Location: NBA_ELT_ARCHIVE_DIR, a local folder or ``s3://bucket/prefix`` (boto3; honours
NBA_ELT_AWS_ENDPOINT_URL for LocalStack / moto).

A page is keyed by its site path + query only (never the host), so an archive filled from
a test server or a mirror serves the real site's paths too. The key is stable and
filesystem-safe (see `key_for`):

    /leagues/NBA_2018_games-january.html             -> leagues/NBA_2018_games-january.html
    /boxscores/pbp/201901010DEN.html                 -> boxscores/pbp/201901010DEN.html
    /friv/dailyleaders.fcgi?month=1&day=1&year=2018  -> friv/dailyleaders.fcgi@month=1,day=1,year=2018
    /boxscores/?month=1&day=1&year=2018              -> boxscores/index@month=1,day=1,year=2018

Next to each body ``<key>`` lives ``<key>.meta.json``: {"url", "path", "status", "fetched_at"}.

To seed an archive from recorded pages (tests/fixtures/bbref/PROVENANCE.md lists the site
path each file answers): ``open_archive(settings.archive_dir, settings).put(path, html, 200)``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from nba_elt.config import Settings
from nba_elt.errors import BadInput

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]")
META_SUFFIX = ".meta.json"


@dataclass(frozen=True)
class ArchivedPage:
    path: str
    url: str
    status: int
    fetched_at: str  # ISO 8601, UTC
    body: str


def key_for(path: str) -> str:
    """Stable, filesystem-safe archive key of a site path (+ query)."""
    parts = urlsplit(path if path.startswith("/") else "/" + path)
    segments = [s for s in parts.path.split("/") if s]
    if parts.path.endswith("/") or not segments:
        segments.append("index")
    clean = []
    for segment in segments:
        if segment in (".", ".."):
            raise BadInput(f"archive path {path!r} must not contain '.' or '..' segments")
        clean.append(_UNSAFE.sub("_", segment))
    key = "/".join(clean)
    if parts.query:
        key += "@" + _UNSAFE.sub("_", parts.query.replace("&", ","))
    return key


def _meta(path: str, status: int, url: str | None, fetched_at: str | None) -> dict:
    """The sidecar kept beside each page: where it came from, its status, when."""
    return {"url": url or path, "path": path, "status": status, "fetched_at": fetched_at or _now()}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class PageArchive(Protocol):
    location: str

    def put(
        self,
        path: str,
        body: str,
        status: int,
        *,
        url: str | None = None,
        fetched_at: str | None = None,
    ) -> None: ...

    def get(self, path: str) -> ArchivedPage | None: ...

    def has(self, path: str) -> bool: ...


class LocalArchive:
    """The archive in a local folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def _file(self, path: str) -> Path:
        return self.root / key_for(path)

    def put(
        self,
        path: str,
        body: str,
        status: int,
        *,
        url: str | None = None,
        fetched_at: str | None = None,
    ) -> None:
        target = self._file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        meta = _meta(path, status, url, fetched_at)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(body, encoding="utf-8")
        tmp.replace(target)
        meta_file = target.with_name(target.name + META_SUFFIX)
        meta_file.write_text(json.dumps(meta, indent=1), encoding="utf-8")

    def get(self, path: str) -> ArchivedPage | None:
        target = self._file(path)
        meta_file = target.with_name(target.name + META_SUFFIX)
        if not target.is_file():
            return None
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        return ArchivedPage(
            path=path,
            url=meta.get("url", path),
            status=int(meta.get("status", 200)),
            fetched_at=meta.get("fetched_at", ""),
            body=target.read_text(encoding="utf-8"),
        )

    def has(self, path: str) -> bool:
        return self._file(path).is_file()


class S3Archive:
    """The archive under s3://bucket/prefix."""

    def __init__(self, location: str, settings: Settings) -> None:
        import boto3

        parts = urlsplit(location)
        self.location = location
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        if not self.bucket:
            raise BadInput(f"NBA_ELT_ARCHIVE_DIR {location!r} has no bucket (s3://bucket/prefix)")
        self._s3 = boto3.client(
            "s3", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
        )

    def _key(self, path: str) -> str:
        key = key_for(path)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, fn, **kwargs):
        from nba_elt.extract.aws import aws_call

        missing = dict.fromkeys(("NoSuchKey", "404", "NotFound"), lambda message: None)
        return aws_call(
            what,
            fn,
            where=f"the raw archive {self.location} (check the bucket and NBA_ELT_AWS_ENDPOINT_URL)",
            permissions="s3:GetObject, s3:PutObject, s3:ListBucket",
            on_code=missing,
            **kwargs,
        )

    def put(
        self,
        path: str,
        body: str,
        status: int,
        *,
        url: str | None = None,
        fetched_at: str | None = None,
    ) -> None:
        key = self._key(path)
        meta = _meta(path, status, url, fetched_at)
        self._call(
            f"writing {key}",
            self._s3.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=body.encode("utf-8"),
            ContentType="text/html; charset=utf-8",
        )
        self._call(
            f"writing {key}{META_SUFFIX}",
            self._s3.put_object,
            Bucket=self.bucket,
            Key=key + META_SUFFIX,
            Body=json.dumps(meta).encode("utf-8"),
            ContentType="application/json",
        )

    def get(self, path: str) -> ArchivedPage | None:
        key = self._key(path)
        obj = self._call(f"reading {key}", self._s3.get_object, Bucket=self.bucket, Key=key)
        if obj is None:
            return None
        body = obj["Body"].read().decode("utf-8")
        meta_obj = self._call(
            f"reading {key}{META_SUFFIX}",
            self._s3.get_object,
            Bucket=self.bucket,
            Key=key + META_SUFFIX,
        )
        meta = json.loads(meta_obj["Body"].read()) if meta_obj is not None else {}
        return ArchivedPage(
            path=path,
            url=meta.get("url", path),
            status=int(meta.get("status", 200)),
            fetched_at=meta.get("fetched_at", ""),
            body=body,
        )

    def has(self, path: str) -> bool:
        key = self._key(path)
        return (
            self._call(f"checking {key}", self._s3.head_object, Bucket=self.bucket, Key=key)
            is not None
        )


def open_archive(location: str, settings: Settings) -> LocalArchive | S3Archive:
    """The archive at NBA_ELT_ARCHIVE_DIR: a local folder or s3://bucket/prefix."""
    if location.startswith("s3://"):
        return S3Archive(location, settings)
    if "://" in location:
        raise BadInput(
            f"NBA_ELT_ARCHIVE_DIR must be a local folder or s3://bucket/prefix, got {location!r}"
        )
    return LocalArchive(location)
