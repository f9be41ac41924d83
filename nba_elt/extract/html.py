"""Small helpers shared by the parsers: tables by id (also inside HTML comments), cells by data-stat."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator

from lxml import html as lxml_html
from lxml.etree import ParserError

from nba_elt.errors import ConsistencyError, SchemaDrift

GAME_ID = re.compile(r"^(\d{4})(\d{2})(\d{2})\d([A-Z]{3})$")
GAME_LINK = re.compile(r"/boxscores/(?:pbp/)?(\d{8}\d[A-Z]{3})\.html")
TEAM_LINK = re.compile(r"/teams/([A-Z]{3})/\d{4}\.html")


def parse_document(html: str, page: str):
    if not html or not html.strip():
        raise SchemaDrift(f"{page}: the page is empty")
    try:
        return lxml_html.fromstring(html)
    except (ParserError, ValueError) as exc:
        raise SchemaDrift(f"{page}: the page is not HTML ({exc})") from None


def find_table(doc, table_id: str):
    """The table with this id, also when the site hides it inside an HTML comment."""
    for table in doc.iter("table"):  # a walk over the tables only: cheaper than an XPath
        if table.get("id") == table_id:
            return table
    marker = f'id="{table_id}"'
    for comment in doc.xpath("//comment()"):
        text = comment.text or ""
        if marker in text:
            fragment = lxml_html.fromstring(f"<div>{text}</div>")
            inner = fragment.xpath(f'//table[@id="{table_id}"]')
            if inner:
                return inner[0]
    return None


def require_table(doc, table_id: str, page: str):
    table = find_table(doc, table_id)
    if table is None:
        raise SchemaDrift(f"{page}: table#{table_id} is missing; the page layout has changed")
    return table


def header_stats(table) -> set[str]:
    return {s for s in table.xpath(".//thead//th/@data-stat") if s}


def require_columns(table, needed: Iterable[str], table_id: str, page: str) -> None:
    present = header_stats(table)
    for row in body_rows(table):
        present |= set(row.xpath("./*/@data-stat"))
        break
    missing = sorted(set(needed) - present)
    if missing:
        raise SchemaDrift(
            f"{page}: table#{table_id} lacks data-stat column(s) {', '.join(missing)}; "
            "the page layout has changed"
        )


def is_header_row(row) -> bool:
    classes = (row.get("class") or "").split()
    return bool(
        {"thead", "over_header", "partial_table", "spacer"} & set(classes)
    ) or not row.xpath("./td")


def body_rows(table) -> Iterator:
    bodies = table.xpath("./tbody")
    rows = bodies[0].xpath("./tr") if bodies else table.xpath("./tr")
    yield from rows


def cells(row) -> dict:
    return {c.get("data-stat"): c for c in row.xpath("./th|./td") if c.get("data-stat")}


def text(cell) -> str:
    if cell is None:
        return ""
    return " ".join(cell.text_content().replace("\xa0", " ").split())


def to_int(value: str, *, what: str = "number", page: str = "page") -> int | None:
    value = value.strip().replace(",", "")
    if value == "":
        return None
    try:
        return int(value.lstrip("+"))
    except ValueError:
        raise SchemaDrift(f"{page}: {what} {value!r} is not a whole number") from None


def to_float(value: str) -> float | None:
    value = value.strip()
    if value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None


def date_of_game(game_id: str) -> dt.date:
    match = GAME_ID.match(game_id)
    if not match:
        raise ValueError(f"{game_id!r} is not a basketball-reference game id (e.g. 201901010DEN)")
    year, month, day, _ = match.groups()
    return dt.date(int(year), int(month), int(day))


def clock_seconds(value: str) -> float | None:
    """'11:33.0' -> 693.0; '0:05.4' -> 5.4."""
    match = re.match(r"^(\d+):(\d{1,2}(?:\.\d+)?)$", value.strip())
    if not match:
        return None
    return int(match.group(1)) * 60 + float(match.group(2))


def require_whole_page(html: str, page: str) -> None:
    """A page cut short (a dropped connection, a proxy's limit) still parses: lxml closes
    what is open. The site's pages end with </html>; one that does not is truncated."""
    if not html.rstrip().lower().endswith("</html>"):
        raise ConsistencyError(
            f"{page}: the page is truncated (it ends before </html>, after "
            f"{len(html.encode('utf-8'))} bytes); not loaded"
        )
