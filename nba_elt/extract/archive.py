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
Both are written atomically (a temp file, then a rename; the meta last, so an entry with a
body and no meta is one whose write was cut). An entry whose meta or body cannot be read
is damaged (``DamagedEntry``): the client fetches it again, or names the file offline.

Pages whose unit failed its checks never enter the archive: they go to the quarantine,
an archive of the same kind next to it (``<folder>.quarantine`` / ``s3://bucket/<prefix>.quarantine``),
with the reason in their meta, for a person to look at. Nothing reads pages from there.

To seed an archive from recorded pages (tests/fixtures/bbref/PROVENANCE.md lists the site
path each file answers): ``open_archive(settings.archive_dir, settings).put(path, html, 200)``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from nba_elt.config import Settings
from nba_elt.errors import ArchiveError, BadInput, SourceError

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


QUARANTINE_SUFFIX = ".quarantine"


class DamagedEntry(SourceError):
    """An archive entry whose meta or body cannot be read: it counts as missing."""


def _page_from(path: str, where: str, meta_raw: bytes | None, body_raw: bytes) -> ArchivedPage:
    """An ArchivedPage from the stored bytes; DamagedEntry when they cannot be trusted."""
    if meta_raw is None:
        raise DamagedEntry(f"raw archive entry {where} has no {META_SUFFIX} (a cut write)")
    try:
        meta = json.loads(meta_raw.decode("utf-8"))
        status = int(meta["status"])
        fetched_at = str(meta["fetched_at"])
        if meta.get("path", path) != path:
            raise ValueError(f"it belongs to {meta.get('path')!r}")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DamagedEntry(
            f"raw archive entry {where}{META_SUFFIX} is damaged ({type(exc).__name__}: {exc})"
        ) from None
    try:
        body = body_raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedEntry(
            f"raw archive entry {where} is damaged (not UTF-8 at byte {exc.start})"
        ) from None
    return ArchivedPage(
        path=path, url=meta.get("url", path), status=status, fetched_at=fetched_at, body=body
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class PageArchive:
    """What a folder and a bucket share: a page's body at its key, its meta beside it.

    Each kind gives ``_key(path)``, ``_write(key, body, meta)``, ``_read(key, entry)`` (the
    bytes, None when absent; ``entry`` names the page in an error), ``_exists(key)`` and
    ``quarantine()``.
    """

    location: str

    def _name(self, key: str) -> str:
        """How an entry is named in a message."""
        return key

    def put(
        self,
        path: str,
        body: str | bytes,
        status: int,
        *,
        url: str | None = None,
        fetched_at: str | None = None,
        reason: str | None = None,
    ) -> None:
        # the sidecar kept beside each page: where it came from, its status, when
        meta = {
            "url": url or path,
            "path": path,
            "status": status,
            "fetched_at": fetched_at or _now(),
        }
        if reason:
            meta["quarantined_because"] = reason
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self._write(self._key(path), data, meta)

    def get(self, path: str) -> ArchivedPage | None:
        key = self._key(path)
        entry = self._name(key)
        body = self._read(key, entry)
        if body is None:
            return None
        return _page_from(path, entry, self._read(key + META_SUFFIX, entry), body)

    def has(self, path: str) -> bool:
        key = self._key(path)
        return self._exists(key) and self._exists(key + META_SUFFIX)


class LocalArchive(PageArchive):
    """The archive in a local folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def _key(self, path: str) -> str:
        return str(self.root / key_for(path))

    def quarantine(self) -> LocalArchive:
        return LocalArchive(self.root.with_name(self.root.name + QUARANTINE_SUFFIX))

    def _write(self, key: str, body: bytes, meta: dict) -> None:
        try:
            Path(key).parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(Path(key), body)
            _write_atomically(Path(key + META_SUFFIX), json.dumps(meta, indent=1).encode("utf-8"))
        except OSError as exc:
            raise ArchiveError(
                f"raw archive {self.location}: cannot write {key} "
                f"({exc.strerror or type(exc).__name__}); check that NBA_ELT_ARCHIVE_DIR is a "
                "writable folder with free space"
            ) from None

    def _read(self, key: str, entry: str) -> bytes | None:
        try:
            return Path(key).read_bytes() if Path(key).is_file() else None
        except OSError as exc:
            raise DamagedEntry(
                f"raw archive entry {entry} cannot be read ({exc.strerror or exc})"
            ) from None

    def _exists(self, key: str) -> bool:
        return Path(key).is_file()


def _write_atomically(target: Path, data: bytes) -> None:
    """Write a temp file beside ``target`` and rename it over; no temp file is left."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class S3Archive(PageArchive):
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
            "s3",
            region_name=settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
            **settings.aws_credentials(),
        )

    def _key(self, path: str) -> str:
        key = key_for(path)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _name(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def quarantine(self) -> S3Archive:
        twin = object.__new__(S3Archive)
        twin.bucket, twin._s3 = self.bucket, self._s3
        twin.prefix = (self.prefix or "archive") + QUARANTINE_SUFFIX
        twin.location = f"s3://{self.bucket}/{twin.prefix}"
        return twin

    def _call(self, what: str, fn, **kwargs):
        from nba_elt.extract.aws import aws_call

        missing = dict.fromkeys(("NoSuchKey", "404", "NotFound"), lambda message: None)
        return aws_call(
            what,
            fn,
            where=f"the raw archive {self.location} (check the bucket and NBA_ELT_AWS_ENDPOINT_URL)",
            permissions="s3:GetObject, s3:PutObject, s3:ListBucket",
            error=ArchiveError,  # terminal: every later unit would fail the same way
            on_code=missing,
            **kwargs,
        )

    def _write(self, key: str, body: bytes, meta: dict) -> None:
        # One PUT is atomic on S3: a reader sees the whole old or the whole new object.
        for name, data, kind in (
            (key, body, "text/html; charset=utf-8"),
            (key + META_SUFFIX, json.dumps(meta).encode("utf-8"), "application/json"),
        ):
            self._call(
                f"writing {name}",
                self._s3.put_object,
                Bucket=self.bucket,
                Key=name,
                Body=data,
                ContentType=kind,
            )

    def _read(self, key: str, entry: str) -> bytes | None:
        obj = self._call(f"reading {key}", self._s3.get_object, Bucket=self.bucket, Key=key)
        return None if obj is None else obj["Body"].read()

    def _exists(self, key: str) -> bool:
        found = self._call(f"checking {key}", self._s3.head_object, Bucket=self.bucket, Key=key)
        return found is not None


def open_archive(location: str, settings: Settings) -> LocalArchive | S3Archive:
    """The archive at NBA_ELT_ARCHIVE_DIR: a local folder or s3://bucket/prefix."""
    if location.startswith("s3://"):
        return S3Archive(location, settings)
    if "://" in location:
        raise BadInput(
            f"NBA_ELT_ARCHIVE_DIR must be a local folder or s3://bucket/prefix, got {location!r}"
        )
    return LocalArchive(location)
