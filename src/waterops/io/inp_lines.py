"""Split an EPANET input file into sections of tokenised lines.

EPANET's rules (``input2.c``/``input3.c`` of EPANET 2.2): section headers in brackets,
keywords case-insensitive, ``;`` starts a comment, fields separated by spaces or tabs,
a field with spaces in double quotes, ids at most 31 characters.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from waterops.errors import NetworkFileError

SECTIONS = (
    "TITLE", "JUNCTIONS", "RESERVOIRS", "TANKS", "PIPES", "PUMPS", "VALVES", "TAGS",
    "DEMANDS", "STATUS", "PATTERNS", "CURVES", "CONTROLS", "RULES", "ENERGY", "EMITTERS",
    "LEAKAGE", "QUALITY", "SOURCES", "REACTIONS", "MIXING", "TIMES", "REPORT", "OPTIONS",
    "COORDINATES", "VERTICES", "LABELS", "BACKDROP", "END",
)
"""Sections of an EPANET 2.2 input file, in the order EPANET writes them, and [LEAKAGE]
(EPANET 2.3, which writes it even when empty)."""

MAX_ID_CHARS = 31
"""Longest element id EPANET accepts (``MAXID``)."""

_QUOTED = re.compile(r'"([^"]*)"|(\S+)')


class Line(NamedTuple):
    """One data line of a section (a named tuple: tens of thousands are made per file).

    Parameters
    ----------
    number : 1-based line number in the file
    tokens : fields, quotes removed
    comment : text after ``;`` (stripped), used for demand categories and curve kinds
    text : the data part of the line as written (for sections kept verbatim)
    """

    number: int
    tokens: list[str]
    comment: str
    text: str


def split_sections(text: str, path: str | Path | None) -> dict[str, list[Line]]:
    """Group the lines of ``text`` by section; comment-only and blank lines are dropped.

    Lines of [TITLE] keep their text whole (a title may contain ``;``). Lines before
    the first header and lines after [END] are ignored, as EPANET does.

    Raises
    ------
    NetworkFileError
        for an unknown section name (with its line number).
    """
    sections: dict[str, list[Line]] = {}
    current: list[Line] | None = None
    name = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("["):
            name = stripped[1:].split("]", 1)[0].strip().upper()
            if name not in SECTIONS:
                raise NetworkFileError(
                    path, number,
                    f"unknown section [{name}]; EPANET sections are "
                    + ", ".join(f"[{s}]" for s in SECTIONS),
                )
            if name == "END":
                break
            current = sections.setdefault(name, [])
            continue
        if current is None or not stripped:
            continue
        if name == "TITLE":
            current.append(Line(number, [stripped], "", stripped))
            continue
        data, _, comment = stripped.partition(";")
        data = data.strip()
        if not data:
            if name == "CURVES" and comment.strip():  # ";PUMP: ..." names the next curve's kind
                current.append(Line(number, [], comment.strip(), ""))
            continue
        if '"' in data:
            tokens = [q if q or not u else u for q, u in _QUOTED.findall(data)]
        else:
            tokens = data.split()
        current.append(Line(number, tokens, comment.strip(), data))
    return sections
