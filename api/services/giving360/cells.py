"""Spreadsheet cells safe to open: text a spreadsheet would evaluate as a formula leaves our CSV with a
single quote in front (OWASP's CSV injection advice), and our own CSV import takes exactly that quote
off again, so an export read back gives the original text.

OWASP (www-community/attacks/CSV_Injection) names the cells to neutralise by their first character:
`=`, `+`, `-`, `@`, tab and carriage return. Only the first character counts: a cell starting with a
space is text to Excel, LibreOffice and Google Sheets, and tab and carriage return, the whitespace that
does not make text, are triggers themselves. Numbers are not text: an amount of -50 stays a number."""

from __future__ import annotations

from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise(text: str) -> str:
    """The text as a spreadsheet shows it but never evaluates it: a quote in front of a formula's first
    character. Text that already starts with quotes before such a character gets one more, so that
    `restore` can always take exactly one off."""
    return QUOTE + text if text.lstrip(QUOTE).startswith(TRIGGERS) else text


def restore(text: str) -> str:
    """The text `neutralise` was given: one leading quote off, only where it stands before a trigger."""
    if text.startswith(QUOTE) and text.lstrip(QUOTE).startswith(TRIGGERS):
        return text[1:]
    return text


def restore_all(value: Any) -> Any:
    """Every string in a value read from a spreadsheet (a package of grants), restored."""
    if isinstance(value, str):
        return restore(value)
    if isinstance(value, list):
        return [restore_all(item) for item in value]
    if isinstance(value, dict):
        return {key: restore_all(item) for key, item in value.items()}
    return value
