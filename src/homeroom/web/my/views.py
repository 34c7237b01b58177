"""What the student's and guardian's pages show, shaped from the services' data for the
templates: figures as people read them (the report card's formats: a final grade to the cent
as the grades service rounded it, an attendance rate to a tenth of a percent, points as they
were entered), sections grouped by term."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

DASH = "\u2014"
STATUS_NAMES = {"present": "Present", "absent": "Absent", "late": "Late", "excused": "Excused"}


def percent(value: float | None, digits: int = 2) -> str:
    """A percentage already rounded by its service, written out (as on the report card)."""
    return DASH if value is None else f"{value:.{digits}f}%"


def rate(value: float | None) -> str:
    """An attendance rate (a fraction) as a percentage to a tenth, as on the report card."""
    return DASH if value is None else percent(100.0 * value, 1)


def points(value: float | None) -> str:
    return DASH if value is None else f"{value:g}"


def day(value: Any) -> str:
    """A date as ISO text (the JSON of a cached page holds it as text already)."""
    if value is None:
        return DASH
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def full_name(student: dict[str, Any]) -> str:
    return f"{student['first_name']} {student['last_name']}"


@dataclass(frozen=True, slots=True)
class Term:
    id: int
    name: str
    start: str
    end: str


def terms_of(sections: list[dict[str, Any]]) -> list[tuple[Term, list[dict[str, Any]]]]:
    """The sections (sections.service.student_sections: latest term first) by term."""
    out: dict[int, tuple[Term, list[dict[str, Any]]]] = {}
    for section in sections:
        term_id = section["term_id"]
        if term_id not in out:
            term = Term(
                term_id, section["term_name"], day(section["term_start"]), day(section["term_end"])
            )
            out[term_id] = (term, [])
        out[term_id][1].append(section)
    return list(out.values())


def grade_sections(
    sections: list[dict[str, Any]], grades: dict[str, Any]
) -> list[tuple[Term, list[dict[str, Any]]]]:
    """Each section's grades (grades.service.student_grades) with its teacher and term (the
    student's sections), by term, latest first."""
    by_id = {s["section_id"]: s for s in grades["sections"]}
    out = []
    for term, term_sections in terms_of(sections):
        shown = []
        for section in term_sections:
            graded = by_id.get(section["section_id"])
            if graded is None:  # enrolled since the grades were read: next time
                continue
            shown.append(
                {
                    **section,
                    "final": percent(graded["final_percentage"]),
                    "letter": graded["letter"] or DASH,
                    "categories": [
                        {
                            "name": c["name"],
                            "weight": points(c["weight"]),
                            "percentage": percent(c["percentage"]),
                        }
                        for c in graded["categories"]
                    ],
                    "grades": [
                        {
                            "title": g["title"],
                            "category": g["category"] or DASH,
                            "due": day(g["due_date"]),
                            "score": points(g["score"]),
                            "max_points": points(g["max_points"]),
                            "graded": g["score"] is not None,
                        }
                        for g in graded["grades"]
                    ],
                }
            )
        if shown:
            out.append((term, shown))
    return out


def attendance_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """attendance.service.student_summary, written out."""
    return {
        "rate": rate(summary["rate"]),
        "total": summary["total"],
        "present": summary["present"],
        "absent": summary["absent"],
        "late": summary["late"],
        "excused": summary["excused"],
        "by_section": [{**s, "rate": rate(s["rate"])} for s in summary["by_section"]],
    }


def missed(days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**d, "date": day(d["date"]), "status": STATUS_NAMES.get(d["status"], d["status"])}
        for d in days
    ]
