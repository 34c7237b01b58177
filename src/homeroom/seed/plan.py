"""Every row of the demo school, decided in memory and streamed table by table.

Deterministic: names come from mimesis generators seeded with the seed value, every other
choice from one `random.Random(seed)`, drawn in a fixed order; ids are assigned here, in
order, so related rows reference each other without reading anything back. Dates follow the
calendar of the day of the seed (the current term, the last school days before today); ids,
names, e-mails and numbers depend on the seed value and the size only.

The two big tables (grades, attendance records) are generated lazily, section by section, so
a 50,000-student district never holds its 7 million rows in memory.
"""

import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from mimesis import Address, Person
from mimesis.enums import Gender
from mimesis.locales import Locale

from homeroom.seed.catalog import (
    ASSESSMENTS_PER_SECTION,
    CATALOG,
    DEPARTMENT_BY_SLUG,
    DEPARTMENTS,
    ELECTIVE_COUNTS,
    STUDENTS_PER_SECTION,
    STUDENTS_PER_TEACHER,
    UPCOMING_ASSESSMENTS,
    CourseSpec,
    TermDates,
    grading_template,
    period_label,
    period_start_minutes,
    school_days_before,
    school_year,
)

SCHOOL_ID = 1
SCHOOL_CODE = "demo"
DOMAIN = "example.edu"
ATTENDANCE_DAYS = 10
PERIODS = 8

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Codec:
    """How the target database wants dates, timestamps, booleans and JSON as parameters.

    Applied once per distinct value (per assessment, per session...), never per big-table row.
    """

    timestamp: Callable[[datetime], Any]
    day: Callable[[date], Any]
    flag: Callable[[bool], Any]
    json: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    count: int
    rows: Iterable[Row]

    @classmethod
    def of(cls, name: str, columns: str, rows: Sequence[Row]) -> "Table":
        return cls(name, _columns(columns), len(rows), rows)


def _columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


@dataclass(slots=True)
class _Person:
    first: str
    last: str
    gender: Gender


@dataclass(slots=True)
class _Student(_Person):
    grade_level: int
    birth: date
    ability: float  # typical percentage score


@dataclass(slots=True)
class _Guardian(_Person):
    phone: str
    relationship: str
    children: list[int] = field(default_factory=list)  # student indexes


@dataclass(slots=True)
class _Section:
    course: int  # index in CATALOG
    number: int  # 1-based within the course
    period: int
    capacity: int
    students: list[int] = field(default_factory=list)  # student indexes
    teacher: int = -1  # teacher index


@dataclass(frozen=True, slots=True)
class Logins:
    admin: str = f"admin@{DOMAIN}"
    registrar: str = f"registrar@{DOMAIN}"
    teacher: str = f"teacher1@{DOMAIN}"
    student: str = f"student1@{DOMAIN}"
    guardian: str = f"guardian1@{DOMAIN}"


class DemoPlan:
    """The demo school for `students` students and `seed`, as of `today`."""

    def __init__(self, students: int, seed: int, today: date) -> None:
        if students < 1:
            raise ValueError("at least one student")
        self.seed = seed
        self.today = today
        self.rng = random.Random(seed)
        self.person = Person(locale=Locale.EN, seed=seed)
        self.address = Address(locale=Locale.EN, seed=seed)
        self.logins = Logins()

        fall, spring, current = school_year(today)
        self.terms = (fall, spring)
        self.current_term_index = current
        self.term: TermDates = self.terms[current]
        self.school_name = f"{self.address.city()} High School"
        self.school_days = school_days_before(self.term, today, ATTENDANCE_DAYS)
        # Created just before the school year: a fixed instant per school year, so two
        # seeds on the same day are identical row for row.
        self.created = datetime.combine(fall.start - timedelta(days=21), time(8), tzinfo=UTC)

        self.students: list[_Student] = []
        self.guardians: list[_Guardian] = []
        self._people(students)
        self.teachers: list[_Person] = [self._person() for _ in range(self._teacher_count())]
        self.sections = self._enroll()
        self.teacher_departments = self._staff_sections()
        self._due_dates()

    # --- people ----------------------------------------------------------------------------

    def _person(self, last: str | None = None) -> _Person:
        gender = Gender.FEMALE if self.rng.random() < 0.5 else Gender.MALE
        return _Person(
            self.person.first_name(gender=gender), last or self.person.last_name(), gender
        )

    def _birth_date(self, grade_level: int) -> date:
        # Grade g in a school year starting in year Y: turned g + 5 by September 1st of Y.
        fall, _ = self.terms
        year = fall.start.year
        earliest = date(year - grade_level - 6, 9, 2)
        return earliest + timedelta(days=self.rng.randrange(365))

    def _people(self, count: int) -> None:
        """Students in families: most alone, some with siblings; one or two guardians each."""
        rng = self.rng
        while len(self.students) < count:
            last = self.person.last_name()
            roll = rng.random()
            size = 1 if roll < 0.8 else 2 if roll < 0.96 else 3
            size = min(size, count - len(self.students))
            first_parent = self._guardian(last, first=True)
            parents = [first_parent]
            if rng.random() < 0.3:
                parents.append(self._guardian(last, first=False, other=first_parent.gender))
            for _ in range(size):
                p = self._person(last)
                level = rng.randint(9, 12)
                ability = min(99.0, max(40.0, rng.gauss(79.0, 10.0)))
                self.students.append(
                    _Student(p.first, p.last, p.gender, level, self._birth_date(level), ability)
                )
                for parent in parents:
                    parent.children.append(len(self.students) - 1)
            self.guardians.extend(parents)

    def _guardian(self, last: str, first: bool, other: Gender | None = None) -> _Guardian:
        if other is None:
            gender = Gender.FEMALE if self.rng.random() < 0.6 else Gender.MALE
        else:
            gender = Gender.MALE if other is Gender.FEMALE else Gender.FEMALE
        relationship = "mother" if gender is Gender.FEMALE else "father"
        if first and self.rng.random() < 0.05:
            relationship = "guardian"
        return _Guardian(
            self.person.first_name(gender=gender),
            last,
            gender,
            self.person.telephone(),
            relationship,
        )

    def _teacher_count(self) -> int:
        return max(1, round(len(self.students) / STUDENTS_PER_TEACHER))

    # --- timetable -------------------------------------------------------------------------

    def _choices(self) -> list[list[int]]:
        """Each student's courses (catalog indexes): 4 core, 1 PE/health, 1-3 electives."""
        by_grade: dict[int, tuple[list[int], list[int], list[int]]] = {}
        self._electives: dict[int, list[int]] = {}
        for level in (9, 10, 11, 12):
            core: list[int] = []
            pe: list[int] = []
            electives: list[int] = []
            for i, spec in enumerate(CATALOG):
                if level in spec.grades:
                    {"core": core, "pe": pe, "elective": electives}[spec.kind].append(i)
            by_grade[level] = (core, pe, electives)
            self._electives[level] = electives
        choices = []
        for s in self.students:
            core, pe, electives = by_grade[s.grade_level]
            n = self.rng.choice(ELECTIVE_COUNTS)
            choices.append([*core, *pe, *self.rng.sample(electives, n)])
        return choices

    def _enroll(self) -> list[_Section]:
        """Open enough sections of each course and place every student, avoiding clashes."""
        choices = self._choices()
        demand = [0] * len(CATALOG)
        for chosen in choices:
            for c in chosen:
                demand[c] += 1
        sections: list[_Section] = []
        # by_period[course][period]: that course's sections meeting then; a rotating pointer
        # spreads students over them, `room[course][period]` counts free seats.
        by_period: list[list[list[_Section]]] = []
        room: list[list[int]] = []
        pointer: list[list[int]] = []
        for c, spec in enumerate(CATALOG):
            periods: list[list[_Section]] = [[] for _ in range(PERIODS)]
            seats = [0] * PERIODS
            if demand[c]:
                n = max(1, round(demand[c] / STUDENTS_PER_SECTION))
                capacity = 5 * math.ceil((math.ceil(demand[c] / n) + 2) / 5)
                for k in range(n):
                    period = (spec.period + k) % PERIODS
                    section = _Section(c, k + 1, period, capacity)
                    sections.append(section)
                    periods[period].append(section)
                    seats[period] += capacity
            by_period.append(periods)
            room.append(seats)
            pointer.append([0] * PERIODS)

        def free_period(c: int, busy: list[bool]) -> int:
            """The free period with the most seats left in course c's sections, or -1."""
            seats = room[c]
            best = -1
            for p in range(PERIODS):
                if not busy[p] and seats[p] > 0 and (best < 0 or seats[p] > seats[best]):
                    best = p
            return best

        section_count = [sum(1 for p in by_period[c] if p) for c in range(len(CATALOG))]
        for s, chosen in enumerate(choices):
            busy = [False] * PERIODS
            dropped = 0
            electives = self._electives[self.students[s].grade_level]
            # Required courses first, then electives; the most constrained (fewest sections)
            # pick their period first.
            order = sorted(chosen, key=lambda c: (CATALOG[c].kind == "elective", section_count[c]))
            for c in order:
                best = free_period(c, busy)
                if best < 0 and CATALOG[c].kind == "elective":
                    # No seat at a free time: take another elective that fits, if one does.
                    for k in range(len(electives)):
                        other = electives[(s + k) % len(electives)]
                        if other not in chosen and (p := free_period(other, busy)) >= 0:
                            c, best = other, p
                            break
                if best < 0 and CATALOG[c].kind == "elective" and len(chosen) - dropped > 6:
                    dropped += 1  # the timetable is full enough without it
                    continue
                seats = room[c]
                if best < 0:  # every free period is full or has no section: accept a clash
                    best = max(range(PERIODS), key=seats.__getitem__)
                    if not by_period[c][best]:
                        best = next(p for p in range(PERIODS) if by_period[c][p])
                options = by_period[c][best]
                i = pointer[c][best]
                for _ in range(len(options)):
                    if len(options[i].students) < options[i].capacity:
                        break
                    i = (i + 1) % len(options)
                options[i].students.append(s)
                pointer[c][best] = (i + 1) % len(options)
                seats[best] -= 1
                busy[best] = True
        for section in sections:
            # A small school's over-subscribed elective gets the extra seats it needed.
            section.capacity = max(section.capacity, len(section.students))
        # A section nobody landed in is cancelled.
        return [section for section in sections if section.students]

    def _staff_sections(self) -> list[str]:
        """Give each teacher a department (in proportion to its sections) and sections."""
        teachers = len(self.teachers)
        per_department = {d.slug: 0 for d in DEPARTMENTS}
        for section in self.sections:
            per_department[CATALOG[section.course].department] += 1
        total = len(self.sections)
        # Largest remainder: teachers per department in proportion to its sections.
        quotas = {d: teachers * n / total for d, n in per_department.items()}
        allotted = {d: int(q) for d, q in quotas.items()}
        spare = teachers - sum(allotted.values())
        for d in sorted(quotas, key=lambda d: (allotted[d] - quotas[d], d))[:spare]:
            allotted[d] += 1
        departments: list[str] = []
        staff: dict[str, list[int]] = {}
        for slug in (d.slug for d in DEPARTMENTS):
            staff[slug] = list(range(len(departments), len(departments) + allotted[slug]))
            departments.extend([slug] * allotted[slug])
        everyone = list(range(teachers))
        busy: list[set[int]] = [set() for _ in range(teachers)]
        pointers: dict[str, int] = {}
        for section in self.sections:
            dept = CATALOG[section.course].department
            pool = staff[dept] or everyone
            key = dept if staff[dept] else "*"
            start = pointers.get(key, 0)
            chosen = start
            for step in range(len(pool)):
                candidate = (start + step) % len(pool)
                if section.period not in busy[pool[candidate]]:
                    chosen = candidate
                    break
            section.teacher = pool[chosen]
            busy[section.teacher].add(section.period)
            pointers[key] = (chosen + 1) % len(pool)
        return departments

    def _due_dates(self) -> None:
        """Past assessments spread from the second week of the term to the last school day;
        the upcoming ones between tomorrow and the end of the term."""
        last_day = min(self.today - timedelta(days=1), self.term.end)
        first = min(self.term.start + timedelta(days=7), last_day)
        total = ASSESSMENTS_PER_SECTION
        upcoming = UPCOMING_ASSESSMENTS if last_day < self.term.end else 0
        past = total - upcoming
        dates = []
        for i in range(past):
            dates.append(first + (last_day - first) * (i + 1) // past)
        for i in range(upcoming):
            span = self.term.end - self.today
            dates.append(self.today + span * (i + 1) // upcoming)
        # Work is due on school days: a weekend date moves back to the Friday.
        self.due_dates = [d - timedelta(days=max(0, d.weekday() - 4)) for d in dates]
        self.last_day = last_day
        self.past_assessments = past

    # --- rows ------------------------------------------------------------------------------

    # fmt: off
    def tables(self, codec: Codec, password_hash: str) -> Iterator[Table]:
        """Every table's rows in foreign-key order, encoded for the target by `codec`."""
        ts, day, flag = codec.timestamp, codec.day, codec.flag
        created = ts(self.created)
        school = SCHOOL_ID
        teachers, students, guardians = self.teachers, self.students, self.guardians
        t_user = 3  # user ids: admin 1, registrar 2, then teachers, students, guardians
        s_user = t_user + len(teachers)
        g_user = s_user + len(students)

        yield Table.of("schools", "id name code created_at",
                       [(school, self.school_name, SCHOOL_CODE, created)])

        users = self._users(password_hash, flag(True), created)
        yield Table("users", _columns(
            "id school_id email full_name role password_hash is_active last_login_at created_at "
            "updated_at"), g_user - 1 + len(guardians), users)

        depts = [DEPARTMENT_BY_SLUG[d].name for d in self.teacher_departments]
        yield Table.of("teachers",
            "id school_id user_id first_name last_name email department created_at updated_at",
            [(i + 1, school, t_user + i, t.first, t.last, f"teacher{i + 1}@{DOMAIN}", depts[i],
              created, created) for i, t in enumerate(teachers)])

        # Students joined one a second on the morning the school year was set up.
        joined = [ts(self.created + timedelta(seconds=i)) for i in range(len(students))]
        yield Table.of("students",
            "id school_id user_id student_number first_name last_name email date_of_birth "
            "grade_level status archived_at created_at updated_at",
            [(i + 1, school, s_user + i, f"S{i + 1:06d}", s.first, s.last,
              f"student{i + 1}@{DOMAIN}", day(s.birth), s.grade_level, "active", None,
              joined[i], joined[i]) for i, s in enumerate(students)])

        yield Table.of("guardians",
            "id school_id user_id first_name last_name email phone created_at updated_at",
            [(i + 1, school, g_user + i, g.first, g.last, f"guardian{i + 1}@{DOMAIN}", g.phone,
              created, created) for i, g in enumerate(guardians)])

        links = sorted((s + 1, i + 1, g.relationship)
                       for i, g in enumerate(guardians) for s in g.children)
        yield Table.of("student_guardians", "student_id guardian_id relationship", links)

        yield Table.of("terms",
            "id school_id name start_date end_date created_at updated_at",
            [(i + 1, school, t.name, day(t.start), day(t.end), created, created)
             for i, t in enumerate(self.terms)])

        published = flag(True)
        yield Table.of("courses",
            "id school_id term_id code title category credits published description "
            "created_at updated_at",
            [(term * len(CATALOG) + c + 1, school, term + 1, spec.code, spec.title,
              spec.department, spec.credits, published, _description(spec), created, created)
             for term in range(2) for c, spec in enumerate(CATALOG)])

        first_course = self.current_term_index * len(CATALOG) + 1
        rooms = self._rooms()
        yield Table.of("sections",
            "id school_id course_id teacher_id name room meeting_pattern capacity "
            "created_at updated_at",
            [(i + 1, school, first_course + sec.course, sec.teacher + 1, f"{sec.number:02d}",
              rooms[sec.teacher], period_label(sec.period), sec.capacity, created, created)
             for i, sec in enumerate(self.sections)])

        # Enrollment ids run section by section, students in id order within a section.
        rng = random.Random(f"{self.seed}/enrollments")
        registration = datetime.combine(self.term.start - timedelta(days=10), time(9), UTC)
        enrolled_at = [ts(registration + timedelta(minutes=rng.randrange(7 * 24 * 60)))
                       for _ in students]
        first_enrollment = []
        enrollments: list[Row] = []
        for i, sec in enumerate(self.sections):
            sec.students.sort()
            first = len(enrollments) + 1
            first_enrollment.append(first)
            enrollments.extend((first + n, school, s + 1, i + 1, "enrolled", enrolled_at[s])
                               for n, s in enumerate(sec.students))
        yield Table.of("enrollments",
                       "id school_id student_id section_id status enrolled_at", enrollments)
        del enrollments

        # Every section of a course has the same categories and assessments.
        categories: list[Row] = []
        assessments: list[Row] = []
        graded: list[list[tuple[int, float, Any]]] = []  # per section: (id, points, graded_at)
        due = [day(d) for d in self.due_dates]
        for i, sec in enumerate(self.sections):
            template = grading_template(CATALOG[sec.course].department)
            category_id = {}
            for name, weight in template.categories:
                category_id[name] = len(categories) + 1
                categories.append((len(categories) + 1, school, i + 1, name, weight))
            past = []
            for n, (category, title, points) in enumerate(template.assessments):
                aid = len(assessments) + 1
                assessments.append((aid, school, i + 1, category_id[category], title, points,
                                    due[n], created, created))
                if n < self.past_assessments:
                    graded_on = min(self.due_dates[n] + timedelta(days=2), self.last_day)
                    past.append((aid, points, ts(datetime.combine(graded_on, time(16), UTC))))
            graded.append(past)
        yield Table.of("assessment_categories", "id school_id section_id name weight",
                       categories)
        yield Table.of("assessments",
            "id school_id section_id category_id title max_points due_date created_at "
            "updated_at", assessments)

        grades = sum(len(sec.students) * len(graded[i]) for i, sec in enumerate(self.sections))
        yield Table("grades", _columns(
            "id school_id enrollment_id assessment_id student_id score comment graded_by "
            "graded_at"), grades, self._grades(graded, first_enrollment, t_user))

        sessions: list[Row] = []
        opened: list[list[tuple[int, Any]]] = []  # per section: (session id, recorded_at)
        for i, sec in enumerate(self.sections):
            minutes = timedelta(minutes=period_start_minutes(sec.period) + 10)
            mine = []
            for d in self.school_days:
                stamp = ts(datetime.combine(d, time(0), UTC) + minutes)
                sessions.append((len(sessions) + 1, school, i + 1, day(d), stamp))
                mine.append((len(sessions), stamp))
            opened.append(mine)
        yield Table.of("attendance_sessions", "id school_id section_id date created_at",
                       sessions)
        records = sum(len(sec.students) for sec in self.sections) * len(self.school_days)
        yield Table("attendance_records", _columns(
            "id school_id session_id student_id status note recorded_by recorded_at"),
            records, self._attendance(opened, t_user))

        details = {"tool": "homeroom seed", "students": len(students), "seed": self.seed}
        yield Table.of("audit_logs",
            "id school_id actor_id action entity entity_id details created_at",
            [(1, school, None, "seed", "school", school, codec.json(details), created)])

    # fmt: on

    def _users(self, password_hash: str, active: Any, created: Any) -> Iterator[Row]:
        # Demo data only: every demo login shares ONE argon2 hash of the given password
        # (argon2 costs ~100 ms a hash on purpose). Real accounts get their own salt.
        def user(uid: int, email: str, name: str, role: str) -> Row:
            return (
                uid,
                SCHOOL_ID,
                email,
                name,
                role,
                password_hash,
                active,
                None,
                created,
                created,
            )

        yield user(1, self.logins.admin, "School Administrator", "admin")
        yield user(2, self.logins.registrar, "School Registrar", "staff")
        uid = 3
        for role, people in (
            ("teacher", self.teachers),
            ("student", self.students),
            ("guardian", self.guardians),
        ):
            for i, p in enumerate(people):
                yield user(uid, f"{role}{i + 1}@{DOMAIN}", f"{p.first} {p.last}", role)
                uid += 1

    def _rooms(self) -> list[str]:
        """Each teacher's classroom: the department's letter and a number."""
        counters: dict[str, int] = {}
        rooms = []
        for slug in self.teacher_departments:
            counters[slug] = counters.get(slug, 0) + 1
            rooms.append(f"{DEPARTMENT_BY_SLUG[slug].room_prefix}{100 + counters[slug]}")
        return rooms

    def _grades(
        self,
        graded: list[list[tuple[int, float, Any]]],
        first_enrollment: list[int],
        first_teacher_user: int,
    ) -> Iterator[Row]:
        rng = random.Random(f"{self.seed}/grades")
        gauss, random_ = rng.gauss, rng.random
        students = self.students
        gid = 0
        for i, sec in enumerate(self.sections):
            teacher_user = first_teacher_user + sec.teacher
            past = graded[i]
            difficulty = gauss(0.0, 4.0)
            for n, s in enumerate(sec.students):
                enrollment_id = first_enrollment[i] + n
                base = students[s].ability + difficulty + gauss(0.0, 4.0)
                for aid, points, stamp in past:
                    gid += 1
                    roll = random_()
                    if roll < 0.02:
                        score, comment = 0.0, "Missing"
                    else:
                        pct = base + gauss(0.0, 9.0)
                        pct = 100.0 if pct > 100.0 else 0.0 if pct < 0.0 else pct
                        score = int(pct * points / 10.0 + 0.5) / 10.0
                        comment = "Excellent work" if roll > 0.985 and pct >= 90.0 else ""
                    yield (
                        gid,
                        SCHOOL_ID,
                        enrollment_id,
                        aid,
                        s + 1,
                        score,
                        comment,
                        teacher_user,
                        stamp,
                    )

    def _attendance(
        self, session_times: list[list[tuple[int, Any]]], first_teacher_user: int
    ) -> Iterator[Row]:
        rng = random.Random(f"{self.seed}/attendance")
        days = len(self.school_days)
        # A student's day: present, or absent (excused or not) from every class that day.
        daily: list[list[int]] = []
        for _ in self.students:
            absent_rate = 0.15 if rng.random() < 0.05 else 0.03
            statuses = []
            for _ in range(days):
                roll = rng.random()
                statuses.append(0 if roll >= absent_rate else 1 if roll >= absent_rate * 0.4 else 2)
            daily.append(statuses)
        random_ = rng.random
        rid = 0
        for i, sec in enumerate(self.sections):
            teacher_user = first_teacher_user + sec.teacher
            for d, (session_id, stamp) in enumerate(session_times[i]):
                for s in sec.students:
                    rid += 1
                    mark, note = _DAY_MARKS[daily[s][d]]
                    if mark == "present" and random_() < 0.03:
                        mark = "late"
                    yield (rid, SCHOOL_ID, session_id, s + 1, mark, note, teacher_user, stamp)


# A student's day (see _attendance) as the (status, note) of each of their classes that day.
_DAY_MARKS = (("present", ""), ("absent", ""), ("excused", "Called in sick"))


def _description(spec: CourseSpec) -> str:
    levels = ", ".join(str(g) for g in spec.grades)
    grades = f"grade {levels}" if len(spec.grades) == 1 else f"grades {levels}"
    return f"{spec.title} ({DEPARTMENT_BY_SLUG[spec.department].name}), for {grades}."
