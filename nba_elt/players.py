"""Player ids across providers: basketball-reference slugs, ``nba:<personId>``, names."""

from __future__ import annotations

import re
import unicodedata

PLAYER_PREFIX = "nba:"  # an NBA personId the crosswalk does not map yet: nba:1628378


def nba_player_id(person_id: int | str) -> str:
    return f"{PLAYER_PREFIX}{person_id}"


def normalised_name(name: str) -> str:
    """'Nikola Vučević' -> 'nikola vucevic'; 'Derrick Jones Jr.' -> 'derrick jones'."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^a-z ]", "", plain.lower().replace("-", " "))
    words = [w for w in plain.split() if w not in ("jr", "sr", "ii", "iii", "iv")]
    return " ".join(words)
