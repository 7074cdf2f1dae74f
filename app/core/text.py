"""Text compared the way people expect: insensitive to case, accents and spacing.

Neither database folds accents portably (SQLite's `lower` and `LIKE` fold ASCII only; PostgreSQL's
`unaccent` cannot be indexed), so the service stores a normalized copy of searchable text in its
own column, computed here, and compares normalized terms against it.
"""

from __future__ import annotations

import unicodedata

from app.core.validation import is_visible


def normalize(text: str) -> str:
    """Casefolded, compatibility-decomposed, keeping only what shows: no accents (combining
    marks), no invisible characters (zero-width spaces and joiners, soft hyphens, controls,
    letters drawn blank), and runs of white space made one space.

    `normalize("Organización  Mundial") == normalize("ORGANIZACION mundial")`, and a name with
    a zero-width space or a soft hyphen inside compares equal to the name without it: what
    looks the same is the same."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    shown = "".join(
        " " if char.isspace() else char for char in decomposed if char.isspace() or is_visible(char)
    )
    return " ".join(shown.split())


def like_pattern(term: str) -> str:
    """A `LIKE ... ESCAPE '\\'` pattern matching `term` (normalized) anywhere in a value."""
    escaped = normalize(term).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
