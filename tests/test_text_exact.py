"""The fast forms of two text rules equal their definitions over every Unicode code point."""

from __future__ import annotations

import sys
import unicodedata

from fieldapp.sync import _clean
from fieldapp.text import fold, nfc

CODE_POINTS = range(sys.maxunicode + 1)


def test_clean_refuses_exactly_the_control_characters_and_lone_surrogates() -> None:
    for multiline, allowed in ((False, "\t"), (True, "\t\n\r")):
        wrong = [
            hex(cp)
            for cp in CODE_POINTS
            if (_clean(f"ab{chr(cp)}", multiline) is None)
            != (unicodedata.category(chr(cp)) in ("Cc", "Cs") and chr(cp) not in allowed)
        ]
        assert wrong == [], (multiline, wrong[:10])


def _fold_by_definition(value: str) -> str:
    value = nfc(value).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def test_fold_drops_exactly_the_combining_marks() -> None:
    texts = [f"Lê {chr(cp)}\u0301x" for cp in CODE_POINTS if not 0xD800 <= cp <= 0xDFFF]
    wrong = [t for t in texts if fold(t) != _fold_by_definition(t)]
    assert wrong == [], wrong[:10]
    assert fold("Nguyễn Thị Đào") == "nguyen thi dao"
