"""NBA teams: the NBA's codes (the contract), basketball-reference's codes and names.

Team codes in nba_source are the NBA's (BKN, CHA, PHX); basketball-reference uses BRK,
CHO, PHO in its URLs and game ids. Historical names map to today's franchise code.
"""

from __future__ import annotations

from dataclasses import dataclass

from nba_elt.errors import SchemaDrift


@dataclass(frozen=True)
class Team:
    code: str  # NBA code, e.g. BKN
    bbref_code: str  # basketball-reference code, e.g. BRK
    name: str  # current full name
    conference: str  # East / West
    division: str


TEAMS: tuple[Team, ...] = (
    Team("ATL", "ATL", "Atlanta Hawks", "East", "Southeast"),
    Team("BOS", "BOS", "Boston Celtics", "East", "Atlantic"),
    Team("BKN", "BRK", "Brooklyn Nets", "East", "Atlantic"),
    Team("CHA", "CHO", "Charlotte Hornets", "East", "Southeast"),
    Team("CHI", "CHI", "Chicago Bulls", "East", "Central"),
    Team("CLE", "CLE", "Cleveland Cavaliers", "East", "Central"),
    Team("DAL", "DAL", "Dallas Mavericks", "West", "Southwest"),
    Team("DEN", "DEN", "Denver Nuggets", "West", "Northwest"),
    Team("DET", "DET", "Detroit Pistons", "East", "Central"),
    Team("GSW", "GSW", "Golden State Warriors", "West", "Pacific"),
    Team("HOU", "HOU", "Houston Rockets", "West", "Southwest"),
    Team("IND", "IND", "Indiana Pacers", "East", "Central"),
    Team("LAC", "LAC", "Los Angeles Clippers", "West", "Pacific"),
    Team("LAL", "LAL", "Los Angeles Lakers", "West", "Pacific"),
    Team("MEM", "MEM", "Memphis Grizzlies", "West", "Southwest"),
    Team("MIA", "MIA", "Miami Heat", "East", "Southeast"),
    Team("MIL", "MIL", "Milwaukee Bucks", "East", "Central"),
    Team("MIN", "MIN", "Minnesota Timberwolves", "West", "Northwest"),
    Team("NOP", "NOP", "New Orleans Pelicans", "West", "Southwest"),
    Team("NYK", "NYK", "New York Knicks", "East", "Atlantic"),
    Team("OKC", "OKC", "Oklahoma City Thunder", "West", "Northwest"),
    Team("ORL", "ORL", "Orlando Magic", "East", "Southeast"),
    Team("PHI", "PHI", "Philadelphia 76ers", "East", "Atlantic"),
    Team("PHX", "PHO", "Phoenix Suns", "West", "Pacific"),
    Team("POR", "POR", "Portland Trail Blazers", "West", "Northwest"),
    Team("SAC", "SAC", "Sacramento Kings", "West", "Pacific"),
    Team("SAS", "SAS", "San Antonio Spurs", "West", "Southwest"),
    Team("TOR", "TOR", "Toronto Raptors", "East", "Atlantic"),
    Team("UTA", "UTA", "Utah Jazz", "West", "Northwest"),
    Team("WAS", "WAS", "Washington Wizards", "East", "Southeast"),
)

BY_CODE = {t.code: t for t in TEAMS}

# Earlier names and codes of today's franchises, as basketball-reference prints them.
_HISTORICAL_NAMES = {
    "LA Clippers": "LAC",
    "New Jersey Nets": "BKN",
    "Charlotte Bobcats": "CHA",
    "New Orleans Hornets": "NOP",
    "New Orleans/Oklahoma City Hornets": "NOP",
    "Seattle SuperSonics": "OKC",
    "Vancouver Grizzlies": "MEM",
    "Washington Bullets": "WAS",
}
_HISTORICAL_BBREF = {"NJN": "BKN", "CHA": "CHA", "NOH": "NOP", "NOK": "NOP", "SEA": "OKC"}
# Older basketball-reference codes seen in game ids and daily pages (issue 3).
_HISTORICAL_BBREF |= {"VAN": "MEM", "CHH": "CHA", "WSB": "WAS"}

BY_NAME = {t.name: t.code for t in TEAMS} | _HISTORICAL_NAMES
# Codes another provider (stats.nba.com) or an older page may use, to the NBA code.
_ANY_CODE = {t.code: t.code for t in TEAMS} | {t.bbref_code: t.code for t in TEAMS}
_ANY_CODE |= _HISTORICAL_BBREF


def code_from_name(name: str, *, page: str = "page") -> str:
    """NBA code of a full team name ("Brooklyn Nets" -> "BKN"); SchemaDrift if unknown."""
    try:
        return BY_NAME[name.strip()]
    except KeyError:
        raise SchemaDrift(f"{page}: unknown team name {name!r}") from None


def nba_code(code: str, *, page: str = "page") -> str:
    """Normalise any team code (bbref BRK/CHO/PHO, historical NJN ...) to the NBA's."""
    try:
        return _ANY_CODE[code.strip().upper()]
    except KeyError:
        raise SchemaDrift(f"{page}: unknown team code {code!r}") from None


def bbref_code(code: str) -> str:
    """basketball-reference's code of an NBA team code ("BKN" -> "BRK")."""
    return BY_CODE[nba_code(code)].bbref_code
