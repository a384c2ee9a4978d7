"""The cipher and the keyed child index, on their own: sealing, opening, and every way opening must fail."""

from __future__ import annotations

import base64

import pytest

from storage.crypto import KeyProblem, Keyring, RecordUnreadable, key_id, new_key, parse_keys

A, B = parse_keys(new_key(), "a")[0], parse_keys(new_key(), "b")[0]


def test_a_sealed_value_opens_exactly_and_shows_nothing_of_itself() -> None:
    ring = Keyring([A], "test")
    text = "Zéphyrine said: <!channel> *bold* ‮ 你好 🙂" + "x" * 3000
    sealed = ring.seal(text, "concerns.details")
    assert sealed.startswith(f"v1:{key_id(A)}:") and "Zéphyrine" not in sealed and "channel" not in sealed
    assert ring.open(sealed, "concerns.details") == text
    assert ring.seal(text, "concerns.details") != sealed  # a fresh nonce each time: equal texts look different


def test_a_value_moved_to_another_column_or_altered_does_not_open() -> None:
    ring = Keyring([A], "test")
    sealed = ring.seal("Robin Example", "concerns.details")
    with pytest.raises(RecordUnreadable, match="integrity check"):
        ring.open(sealed, "concern_actions.note")
    head, body = sealed.rsplit(":", 1)
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(RecordUnreadable, match="altered outside concernbot"):
        ring.open(f"{head}:{base64.b64encode(bytes(raw)).decode()}", "concerns.details")
    with pytest.raises(RecordUnreadable, match="not sealed"):
        ring.open('{"child": "Robin"}', "concerns.details")


def test_a_value_sealed_with_a_key_not_held_names_that_key() -> None:
    sealed = Keyring([A], "old").seal("x", "c")
    with pytest.raises(KeyProblem, match=f"key {key_id(A)}, which is not among the keys in ENCRYPTION_KEY"):
        Keyring([B], "ENCRYPTION_KEY").open(sealed, "c")
    assert Keyring([B, A], "both").open(sealed, "c") == "x"  # older keys still open what they sealed


def test_key_text_is_checked() -> None:
    assert parse_keys(f"# keys, newest first\n{new_key()}\n\n{new_key()}  # the old one\n", "f")[1] != b""
    assert len(parse_keys(f"{new_key()},{new_key()}", "env")) == 2
    for bad in ("", "# only a comment", "not-a-key", base64.urlsafe_b64encode(b"short").decode()):
        with pytest.raises(KeyProblem, match="concernbot keys new"):
            parse_keys(bad, "ENCRYPTION_KEY")


def test_the_child_index_is_keyed_and_found_under_every_key_held() -> None:
    ring_a, ring_ba = Keyring([A], "a"), Keyring([B, A], "ba")
    assert ring_a.index("robin example") == ring_a.index("robin example") != ring_a.index("robyn example")
    assert ring_a.index("robin example") != Keyring([B], "b").index("robin example")  # no key, no lookup
    assert ring_ba.indexes("robin example") == [ring_ba.index("robin example"), ring_a.index("robin example")]
    assert "robin" not in ring_a.index("robin example")
