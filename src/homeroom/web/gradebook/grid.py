"""The gradebook grid's cells, drawn here rather than in the template: a district section's
48 x 12 grid is ~600 labelled inputs, and a template's loop escaping five values a cell spent
~20 ms on them; a row's cells as one string of pre-escaped parts cost ~1 ms for the grid."""

import re
from typing import Any

from markupsafe import Markup, escape

# A score cell's field: s<student id>-a<assessment id> (both digits only: safe in HTML).
CELL = re.compile(r"s([0-9]{1,10})-a([0-9]{1,10})")


def score_text(score: float | None) -> str:
    return "" if score is None else f"{score:g}"


def grid_rows(book: dict[str, Any], typed: dict[str, str]) -> list[dict[str, Any]]:
    """Each student's row: the student, their score cells as one piece of HTML (a label and
    a number input each: what was `typed` over the stored score) and their final."""
    columns = [
        (a["assessment_id"], str(escape(a["title"])), f"{a['max_points']:g}")
        for a in book["assessments"]
    ]
    rows = []
    for student in book["students"]:
        who = str(escape(f"{student['first_name']} {student['last_name']}"))
        scores = student["scores"]
        cells = []
        for aid, title, top in columns:
            name = f"s{student['student_id']}-a{aid}"
            value = typed.get(name)
            shown = score_text(scores.get(aid)) if value is None else str(escape(value))
            cells.append(
                f'<td><label class="sr-only" for="{name}">Score of {who} on {title}</label>'
                f'<input class="score" id="{name}" name="{name}" type="number" '
                f'inputmode="decimal" min="0" max="{top}" step="any" value="{shown}"></td>'
            )
        final = student["final_percentage"]
        rows.append(
            {
                "student": student,
                # Safe: the names and numbers are digits, every text was escaped above.
                "cells": Markup("".join(cells)),  # noqa: S704
                "final": "\N{EM DASH}" if final is None else f"{final:.2f}",
            }
        )
    return rows
