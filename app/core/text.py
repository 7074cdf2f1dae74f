"""Text compared the way people expect: insensitive to case, accents and spacing.

Neither database folds accents portably (SQLite's `lower` and `LIKE` fold ASCII only; PostgreSQL's
`unaccent` cannot be indexed), so the service stores a normalized copy of searchable text in its
own column, computed here, and compares normalized terms against it.
"""

from __future__ import annotations

import unicodedata


def normalize(text: str) -> str:
    """Casefolded, without accents, with runs of white space made one space.

    `normalize("Organización  Mundial") == normalize("ORGANIZACION mundial")`.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(without_marks.casefold().split())


def like_pattern(term: str) -> str:
    """A `LIKE ... ESCAPE '\\'` pattern matching `term` (normalized) anywhere in a value."""
    escaped = normalize(term).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
