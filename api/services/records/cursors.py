"""The cursors the API gives out, and the patterns that say in the spec exactly what they look like.

A cursor is read back only if it is exactly one the API could have issued (re-encoding what it holds
gives the same text): anything else, whatever its bytes (a NUL that PostgreSQL would refuse, a naive
time, a UUID spelled another way), is a 422 before it reaches a query, on both engines."""

from __future__ import annotations

import base64
import binascii
import datetime
import math
import re
from typing import Any
from uuid import UUID

import msgspec

from api.schemas.common import FieldError
from api.services.platform.errors import Unprocessable

# A list's cursor: base64url, unpadded, of the JSON `[sort, the last row's sort value, its id]`.
SORTS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at")
TIME_SORTS = {"created_at", "updated_at"}
MAX_VALUE = 300  # the longest name (api/schemas/common.py `Name`); a time is far shorter
_B64 = "[A-Za-z0-9_-]"


def _base64_length(size: int) -> int:
    return math.ceil(size * 4 / 3)


def _frame(sort: str, value: str) -> bytes:
    return msgspec.json.encode([sort, value, str(UUID(int=0))])


# JSON escapes a control character as six bytes (`\u0001`); nothing in a name takes more.
MIN_LIST_CURSOR = _base64_length(len(_frame("name", "")))
MAX_LIST_CURSOR = _base64_length(len(_frame(max(SORTS, key=len), "")) + 6 * MAX_VALUE)
# Every cursor starts `["<sort>`, three bytes that are always its first four characters.
_PREFIXES = sorted({base64.urlsafe_b64encode(f'["{sort}'.encode()[:3]).decode() for sort in SORTS})
# The shortest length (67 = 4 + 60 + 3) is in the pattern itself, not left to minLength: schemathesis
# draws strings from the pattern and, with only minLength, threw away 293 in 300 (a failed health check).
_REST = MIN_LIST_CURSOR - 4 - 3
LIST_CURSOR_PATTERN = (
    rf"^(?:{'|'.join(_PREFIXES)}){_B64}{{{_REST}}}(?:{_B64}{{3}}|{_B64}{{4}}(?:{_B64}{{4}})*(?:{_B64}{{2,3}})?)$"
)


def encode_list_cursor(sort: str, value: Any, record_id: UUID) -> str:
    raw = msgspec.json.encode(
        [sort, value.isoformat() if isinstance(value, datetime.datetime) else value, str(record_id)]
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_list_cursor(cursor: str, sort: str) -> tuple[Any, UUID]:
    """The sort value and id of the row a page ended at."""
    invalid = Unprocessable(
        "The cursor is not one this API gave out for this list; start again without a cursor.",
        [FieldError(field="cursor", message="not a valid cursor for this list and sort", location="query")],
    )
    if not (MIN_LIST_CURSOR <= len(cursor) <= MAX_LIST_CURSOR and re.fullmatch(LIST_CURSOR_PATTERN, cursor)):
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, text, record_id = msgspec.json.decode(raw, type=tuple[str, str, UUID])
    except (binascii.Error, msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):  # msgspec raises
        raise invalid from None  # the last for bytes that are not UTF-8 inside a JSON string
    if cursor_sort != sort or "\x00" in text or len(text) > MAX_VALUE:
        raise invalid
    value: Any = text
    if sort.lstrip("-") in TIME_SORTS:
        try:
            value = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise invalid from None
        if value.tzinfo is None:  # every stored time is UTC, and issued with its offset
            raise invalid
    if encode_list_cursor(sort, value, record_id) != cursor:
        raise invalid
    return value, record_id


# The change feed's cursor is the number of the last change read (`Change.id`): `0` is before the
# first. Cursors issued before that were base64url of the same number's digits; they still work.
MAX_CHANGE_DIGITS = 18  # far beyond any feed, and inside PostgreSQL's bigint
_DIGITS_GROUP = "(?:[MN][DTjz]|O[DT])[AEIMQUYcgk]"  # base64 of two ASCII digits, less its last 4 bits
_BASE64_DIGITS = rf"(?:{_DIGITS_GROUP}[w-z0-5])*(?:[MN][AQgw]|O[AQ]|{_DIGITS_GROUP})?"
_NUMBER = rf"0|[1-9][0-9]{{0,{MAX_CHANGE_DIGITS - 1}}}"
CHANGE_CURSOR_PATTERN = rf"^(?:{_NUMBER}|{_BASE64_DIGITS})$"
MAX_CHANGE_CURSOR = _base64_length(MAX_CHANGE_DIGITS)


def encode_change_cursor(change_id: int) -> str:
    return str(change_id)


def decode_change_cursor(cursor: str) -> int:
    """The number of the last change the client has."""
    if re.fullmatch(_NUMBER, cursor):
        return int(cursor)
    invalid = Unprocessable(
        "The cursor is not one this API gave out; start again without one, or with `after=0`.",
        [FieldError(field="after", message="not a change cursor", location="query")],
    )
    if not (0 < len(cursor) <= MAX_CHANGE_CURSOR and re.fullmatch(CHANGE_CURSOR_PATTERN, cursor)):
        raise invalid
    try:
        digits = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid from None
    if not re.fullmatch(rf"[0-9]{{1,{MAX_CHANGE_DIGITS}}}", digits):
        raise invalid
    return int(digits)


# A network's cursor: the last link given, as its weight in millionths (8 bytes, big-endian) and the ids
# of its two ends, the lower first (16 bytes each): 40 bytes, 54 characters of unpadded base64url. Links
# come strongest first, then by those ids, so the key is the link's place in that order whatever the names.
LINK_CURSOR_LENGTH = _base64_length(8 + 16 + 16)
LINK_CURSOR_PATTERN = rf"^{_B64}{{{LINK_CURSOR_LENGTH - 1}}}[AQgw]$"


def encode_link_cursor(weight_millionths: int, lower: UUID, higher: UUID) -> str:
    raw = weight_millionths.to_bytes(8, "big") + lower.bytes + higher.bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_link_cursor(cursor: str) -> tuple[int, UUID, UUID]:
    """The weight (in millionths) and the two ends of the link a page ended at."""
    if not re.fullmatch(LINK_CURSOR_PATTERN, cursor):
        raise Unprocessable(
            "The cursor is not one this API gave out for a network; start again without a cursor.",
            [FieldError(field="cursor", message="not a network cursor", location="query")],
        )
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return int.from_bytes(raw[:8], "big"), UUID(bytes=raw[8:24]), UUID(bytes=raw[24:40])


# The evidence of one link, a page at a time: base64url, unpadded, of the JSON `[kind, name, id]` of the
# last record given (records come by kind, then name, then id).
EVIDENCE_KINDS = ("interest_group", "co_funding", "research", "grant", "engagement")
MIN_EVIDENCE_CURSOR = _base64_length(len(msgspec.json.encode(["grant", "", str(UUID(int=0))])))
MAX_EVIDENCE_CURSOR = _base64_length(
    len(msgspec.json.encode([max(EVIDENCE_KINDS, key=len), "", str(UUID(int=0))])) + 6 * MAX_VALUE
)
EVIDENCE_CURSOR_PATTERN = rf"^{_B64}{{{MIN_EVIDENCE_CURSOR},{MAX_EVIDENCE_CURSOR}}}$"


def encode_evidence_cursor(kind: str, name: str, record_id: UUID) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([kind, name, str(record_id)])).decode().rstrip("=")


def decode_evidence_cursor(cursor: str) -> tuple[str, str, UUID]:
    """The kind, name and id of the record a page of evidence ended at."""
    invalid = Unprocessable(
        "The cursor is not one this API gave out for a link's evidence; start again without a cursor.",
        [FieldError(field="cursor", message="not an evidence cursor", location="query")],
    )
    if not re.fullmatch(EVIDENCE_CURSOR_PATTERN, cursor):
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, name, record_id = msgspec.json.decode(raw, type=tuple[str, str, UUID])
    except (binascii.Error, msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        raise invalid from None
    if kind not in EVIDENCE_KINDS or "\x00" in name or len(name) > MAX_VALUE:
        raise invalid
    if encode_evidence_cursor(kind, name, record_id) != cursor:
        raise invalid
    return kind, name, record_id
