"""The text of a PDF that fpdf2 wrote with TrueType fonts, read back without a PDF library.

fpdf2 writes each font as a CID font with a ToUnicode map, and each page's text as two-byte glyph codes in
literal strings under `Tj`/`TJ`. This decodes exactly that, so a test can say what a person would read.
Lines are joined with spaces, and runs of whitespace folded to one space.
"""

from __future__ import annotations

import re
import zlib

OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
STREAM = re.compile(rb"\bstream\r?\n")
LENGTH = re.compile(rb"/Length (\d+)\b")
TOKEN = re.compile(rb"/(F\d+) [\d.]+ Tf|(\((?:\\.|[^\\)])*\))|\bET\b", re.S)
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _stream(body: bytes) -> bytes:
    """An object's stream: exactly its dictionary's /Length bytes after the `stream` line. (Not up to the
    `endstream` line: compressed data may itself end in a carriage return, which a pattern for the line's
    end took as its own, and the stream came back one byte short.)"""
    match = STREAM.search(body)
    length = LENGTH.search(body, 0, match.start()) if match else None
    if match is None or length is None:
        return b""
    raw = body[match.end():match.end() + int(length.group(1))]
    return zlib.decompress(raw) if b"/FlateDecode" in body[:match.start()] else raw


def _literal(token: bytes) -> bytes:
    out, i, inner = bytearray(), 0, token[1:-1]
    while i < len(inner):
        if inner[i:i + 1] != b"\\":
            out += inner[i:i + 1]
            i += 1
            continue
        following = inner[i + 1:i + 2]
        octal = re.match(rb"[0-7]{1,3}", inner[i + 1:i + 4])
        if octal:
            out.append(int(octal.group(0), 8))
            i += 1 + len(octal.group(0))
        else:
            out += ESCAPES.get(following, following)
            i += 2
    return bytes(out)


def _cmap(data: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for code, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for low, high, start in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = int(start, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


def pdf_text(data: bytes) -> str:
    objects = {int(number): body for number, body in OBJECT.findall(data)}
    cmaps = {number: _cmap(_stream(objects[int(m.group(1))]))
             for number, body in objects.items() if (m := re.search(rb"/ToUnicode (\d+) 0 R", body))}
    fonts = {name.decode(): cmaps.get(int(ref), {})
             for body in objects.values() for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", body)}
    pages = [int(ref) for body in objects.values() if re.search(rb"/Type /Page\b", body)
             for ref in re.findall(rb"/Contents (\d+) 0 R", body)]
    lines: list[str] = []
    for ref in pages:
        font: dict[int, str] = {}
        line: list[str] = []
        for match in TOKEN.finditer(_stream(objects[ref])):
            if match.group(1):
                font = fonts.get(match.group(1).decode(), {})
            elif match.group(2):
                raw = _literal(match.group(2))
                line.append("".join(font.get(int.from_bytes(raw[i:i + 2], "big"), "")
                                    for i in range(0, len(raw) - 1, 2)))
            elif line:
                lines.append("".join(line))
                line = []
    return " ".join(" ".join(lines).split())
