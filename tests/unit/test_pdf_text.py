"""The tests' own PDF reader (tests/pdf_text.py) reads a stream by its /Length, whatever bytes it ends in."""

import zlib

from tests.pdf_text import _stream

# Text whose compressed form ends in a carriage return (found by search): the byte a pattern for "end of
# line, then endstream" took as the line's end, so the stream was read one byte short and failed to inflate
# (a subject-access PDF failed that way in CI, depending on the time written into it).
ENDS_IN_CR = b"x" * 290 + b"(1190)"


def test_a_compressed_stream_ending_in_a_carriage_return_is_read_whole() -> None:
    packed = zlib.compress(ENDS_IN_CR)
    assert packed.endswith(b"\r")
    for eol in (b"\n", b"\r\n"):
        body = b"\n<<\n/Filter /FlateDecode\n/Length %d\n>>\nstream" % len(packed) + eol + packed + eol + b"endstream\n"
        assert _stream(body) == ENDS_IN_CR


def test_an_uncompressed_stream_is_its_length_in_bytes_and_no_stream_is_empty() -> None:
    assert _stream(b"<< /Length 5 >>\nstream\nBT ETxx\nendstream") == b"BT ET"
    assert _stream(b"<< /Type /Font >>") == b""
