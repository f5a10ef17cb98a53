"""Text from files, made safe to print on a terminal (the ``grace`` command's output)."""

from __future__ import annotations

import re
import unicodedata

_NOT_PLAIN = re.compile(r"[^ -~]")


def printable(text: str, keep: str = "") -> str:
    r"""``text`` safe to print: every character a terminal could act on shown as
    its Python escape (``\x1b``, ``\r``, ``\u202e``, ``\udc80``).

    What reaches the terminal may come from a file (a strategy's description
    or provenance, a file name in GRACE_STRATEGY_PATH): escape sequences
    could clear the screen or set the window title, a carriage return could
    hide a line, a lone surrogate (from a JSON escape or an undecodable file
    name) would make ``print`` fail. Controls, format characters (bidi
    overrides), line separators and surrogates are escaped; the characters in
    ``keep`` (a multi-line text's newlines) are not."""

    def escape(m: re.Match[str]) -> str:
        ch = m.group()
        category = unicodedata.category(ch)
        if ch in keep or not (category[0] == "C" or category in ("Zl", "Zp")):
            return ch
        return ascii(ch)[1:-1]

    return _NOT_PLAIN.sub(escape, text)
