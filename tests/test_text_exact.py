"""The fast forms of two text rules equal their definitions over every Unicode code point."""

from __future__ import annotations

import sys
import unicodedata

from fieldapp.sync.contract import _clean
from fieldapp.text import _DIACRITICS, fold, nfc

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
    # The fast path removes only what the definition removes (each mark of its class is a
    # combining character); what is not ASCII after it goes through the definition itself.
    removed = [cp for cp in CODE_POINTS if _DIACRITICS.fullmatch(chr(cp))]
    assert removed and all(unicodedata.combining(chr(cp)) for cp in removed)
    # ... and on text, every mark of the block and around it, and names of every kind:
    texts = [f"Lê {chr(cp)}x\u0301" for cp in range(0x2B0, 0x3B0)]
    texts += ["Nguyễn Thị Đào", "ĐẶNG VĂN ẤT", "Ngô  Bảo Châu ", "a\u0301\u20d0b", "Öß ǅ 日本"]
    assert [fold(t) for t in texts] == [_fold_by_definition(t) for t in texts]
    assert fold("Nguyễn Thị Đào") == "nguyen thi dao"
