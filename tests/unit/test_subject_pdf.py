"""The export's PDF: set in a Unicode font so any name prints, and refused in one sentence when it cannot."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.settings import ConfigError
from bot.subject_pdf import find_fonts, render_pdf
from tests.pdf_text import pdf_text


def _doc(subject: str) -> dict:
    export = {"kind": "a child's record", "subject": subject, "school": "Oakfield", "exported_by": "U0DAN",
              "exported_at": None, "timezone": "Europe/London", "concerns": 0, "references": [],
              "note": "Confidential."}
    return {"export": export, "concerns": []}


def test_names_in_other_scripts_print() -> None:
    text = pdf_text(render_pdf(_doc("Ярослава Ковальчук, Ζωή Παπαδοπούλου, Zoë Ní Bhriain"), find_fonts()))
    assert "A child's record: Ярослава Ковальчук, Ζωή Παπαδοπούλου, Zoë Ní Bhriain" in text


def test_a_name_the_font_cannot_show_is_refused_without_quoting_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError) as refused:
        render_pdf(_doc("渡辺 ひなた"), find_fonts())
    assert str(refused.value).startswith("the font DejaVuSans.ttf cannot show 5 different characters in this record: "
                                         "name a font that has them with --font FILE.ttf")
    assert "渡" not in str(refused.value) and "渡" not in caplog.text  # fpdf2's own warning quotes them: never reached


def test_a_font_must_be_a_font_file(tmp_path: Path) -> None:
    for given in (tmp_path / "missing.ttf", tmp_path):
        with pytest.raises(ConfigError, match="is not a TrueType or OpenType font file"):
            find_fonts(given)
    assert find_fonts().regular.parent.name == "fonts" and find_fonts().regular.name == "DejaVuSans.ttf"  # shipped
