#!/usr/bin/env bash
# Make local stand-ins for python:3.11-slim and postgres:15 where no registry can be reached
# (see docs/docker.md): a Debian bookworm root made with debootstrap (Debian's mirror is
# enough), `docker import`ed, plus a tiny postgres image with the official image's env
# contract (POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, PGDATA).
#
#   sudo docker/local-images/build.sh            # -> nba-elt-local/python:3.11, nba-elt-local/postgres:15
#   export NBA_ELT_PYTHON_IMAGE=nba-elt-local/python:3.11 NBA_ELT_POSTGRES_IMAGE=nba-elt-local/postgres:15
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${NBA_ELT_DEBOOTSTRAP_DIR:-/var/tmp/nba-elt-bookworm-root}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ ! -x "$root/usr/bin/python3" ]; then
    mkdir -p "$root"
    debootstrap --variant=minbase \
        --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates,postgresql-15,libpq5 \
        bookworm "$root" "$mirror"
fi
# pip may install into the image's Python (it is the only one there), like python:3.11-slim
rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
# trust what this host trusts (a TLS-intercepting proxy's CA included), so pip can reach PyPI
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi
# the cluster the Debian package made is not used: the postgres image makes its own
rm -rf "$root"/var/lib/postgresql/15/main "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    - nba-elt-local/debian:bookworm
docker tag nba-elt-local/debian:bookworm nba-elt-local/python:3.11
docker build -t nba-elt-local/postgres:15 -f "$here/postgres.Dockerfile" "$here"
echo "export NBA_ELT_PYTHON_IMAGE=nba-elt-local/python:3.11 NBA_ELT_POSTGRES_IMAGE=nba-elt-local/postgres:15"
