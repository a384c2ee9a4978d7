"""The export as a plain PDF (fpdf2): a title page, then one section per concern.

Names may be in any script, so the text is set in a Unicode TrueType font: the one given with --font, or
DejaVu Sans, which ships with concernbot (bot/fonts, under the Bitstream Vera licence in bot/fonts/LICENSE),
so the export works on a server or in a container with no fonts installed. fpdf2's own fonts cover
Latin-1 only. A record that the font cannot show in full is refused with one sentence, before
anything is written, rather than printed with gaps (and fpdf2's warning, which quotes the characters, is
never reached).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import TTFFont

from bot.settings import ConfigError
from bot.subject_record import plain

# DejaVu Sans as shipped with concernbot, then where it lives on common systems, regular and bold.
_SHIPPED = Path(__file__).resolve().parent / "fonts"
SYSTEM_FONTS = (
    (str(_SHIPPED / "DejaVuSans.ttf"), str(_SHIPPED / "DejaVuSans-Bold.ttf")),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf", "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf"),
    ("/usr/local/share/fonts/dejavu/DejaVuSans.ttf", "/usr/local/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
)
NO_FONT = ("no Unicode font was found for the PDF: install DejaVu Sans (Debian or Ubuntu: apt-get install "
           "fonts-dejavu-core), or name a TrueType font with --font FILE.ttf, or export --format json only.")
LINE = 5.5  # mm


@dataclass(frozen=True)
class Fonts:
    regular: Path
    bold: Path


def find_fonts(given: Path | None = None) -> Fonts:
    """The font to set the PDF in: `given` (a .ttf or .otf), else DejaVu Sans (shipped, else the system's)."""
    if given is not None:
        if not given.is_file() or given.suffix.lower() not in (".ttf", ".otf"):
            raise ConfigError(f"--font {given} is not a TrueType or OpenType font file (.ttf or .otf).")
        return Fonts(given, given)
    for regular, bold in SYSTEM_FONTS:
        if Path(regular).is_file():
            return Fonts(Path(regular), Path(bold) if Path(bold).is_file() else Path(regular))
    raise ConfigError(NO_FONT)


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("body", "", 8)
        self.cell(0, 5, f"Confidential safeguarding record · page {self.page_no()} of {{nb}}", align="C")


def render_pdf(doc: dict[str, Any], fonts: Fonts) -> bytes:
    pdf = _Pdf(format="A4")
    pdf.set_title("Safeguarding record (confidential)")  # the file's metadata names nobody
    pdf.set_creator("concernbot")
    try:
        pdf.add_font("body", "", str(fonts.regular))
        pdf.add_font("body", "B", str(fonts.bold))
    except Exception as exc:  # noqa: BLE001 - a font file fpdf2 cannot read, whatever the reason
        raise ConfigError(f"the font {fonts.regular} could not be read ({type(exc).__name__}): name another with "
                          "--font FILE.ttf.") from None
    pdf.set_auto_page_break(True, margin=16)
    _title_page(pdf, doc["export"])
    for concern in doc["concerns"]:
        _concern(pdf, concern)
    missing = sum(len(f.missing_glyphs) for f in pdf.fonts.values() if isinstance(f, TTFFont))
    if missing:
        raise ConfigError(f"the font {fonts.regular.name} cannot show {missing} different characters in this record: "
                          "name a font that has them with --font FILE.ttf, or export --format json only.")
    return bytes(pdf.output())


def _title_page(pdf: FPDF, export: dict[str, Any]) -> None:
    pdf.add_page()
    pdf.set_font("body", "B", 20)
    pdf.multi_cell(0, 10, "Safeguarding record", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", "", 13)
    pdf.multi_cell(0, 7, f"{export['kind'].capitalize()}: {plain(export['subject'])}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for label, key in (("School", "school"), ("Exported by", "exported_by"), ("Exported at", "exported_at"),
                       ("Times are in", "timezone"), ("Concerns", "concerns"), ("References", "references")):
        _pair(pdf, label, export[key])
    pdf.ln(6)
    pdf.set_font("body", "", 9)
    pdf.multi_cell(0, 4.5, export["note"], new_x="LMARGIN", new_y="NEXT")


def _concern(pdf: FPDF, concern: dict[str, Any]) -> None:
    pdf.add_page()
    pdf.set_font("body", "B", 16)
    pdf.multi_cell(0, 9, f"Concern {concern['reference']}", new_x="LMARGIN", new_y="NEXT")
    for label, value in concern["summary"].items():
        _pair(pdf, label, value)
    if concern["children"]:
        _heading(pdf, "The child" if len(concern["children"]) == 1 else "The children")
        for child in concern["children"]:
            _pair(pdf, "", "; ".join(f"{k}: {plain(v)}" for k, v in child.items() if v))
    _heading(pdf, "What was reported")
    for item in concern["report"]:
        _answer(pdf, item["question"], item["answer"])
    review = concern["initial_review"]
    if review:
        _heading(pdf, "Initial review (sharing nudes)")
        _pair(pdf, "Recorded", f"{plain(review['Recorded at'])} by {plain(review['Recorded by'])}")
        for item in review["answers"]:
            _answer(pdf, item["question"], item["answer"])
    if concern["actions"]:
        _heading(pdf, "Record of action")
        for action in concern["actions"]:
            when = " ".join(plain(v) for k, v in action.items() if k in ("Date", "Time") and v)
            _pair(pdf, action["Action"], f"{when}; recorded by {plain(action['Recorded by'])} at "
                                         f"{plain(action['Recorded at'])}")
            if action["Details"]:
                _text(pdf, action["Details"])
    outcome = concern["outcome"]
    if outcome:
        _heading(pdf, "Outcome")
        _pair(pdf, "Recorded", f"{plain(outcome['Recorded at'])} by {plain(outcome['Recorded by'])}")
        _text(pdf, outcome["Outcome"])
    for title, key in (("Deadlines", "deadlines"), ("Status history", "status_history"), ("Event log", "events")):
        if concern[key]:
            _heading(pdf, title)
            for row in concern[key]:
                _pair(pdf, "", " · ".join(f"{k}: {plain(v)}" for k, v in row.items() if v))


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("body", "B", 12)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")


def _pair(pdf: FPDF, label: str, value: Any) -> None:
    """`Label: value` on one flowing line, the label in bold; nothing for an empty value."""
    text = plain(value)
    if not text:
        return
    if label:
        pdf.set_font("body", "B", 10)
        pdf.write(LINE, f"{label}: ")
    pdf.set_font("body", "", 10)
    pdf.write(LINE, text)
    pdf.ln(LINE)


def _answer(pdf: FPDF, question: str, answer: Any) -> None:
    pdf.set_font("body", "B", 10)
    pdf.multi_cell(0, LINE, question, new_x="LMARGIN", new_y="NEXT")
    _text(pdf, answer)


def _text(pdf: FPDF, value: Any) -> None:
    pdf.set_font("body", "", 10)
    pdf.multi_cell(0, LINE, plain(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
