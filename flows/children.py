"""Recognising the same child across concerns, so the DSL sees a chronology (a pattern, not one event).

Schools' records have no shared pupil id here, so a child is matched by name within the school, folded
for case, spacing and accents; the chronology shows year group and date of birth beside each earlier
concern, so the DSL can tell two children of the same name apart.
"""

from __future__ import annotations

import unicodedata


def name_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().replace("-", " ").replace("'", "").split())
