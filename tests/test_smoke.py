from httpx import AsyncClient

from tests.factories import Factory


async def test_admin_lists_and_creates_students(client: AsyncClient, factory: Factory) -> None:
    school = await factory.school()
    headers, _ = await factory.login_as("admin", school)
    await factory.student(school)
    r = await client.get("/api/v1/students", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 1
    r = await client.post(
        "/api/v1/students",
        headers=headers,
        json={
            "student_number": "A-1",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.edu",
            "date_of_birth": "2011-02-03",
            "grade_level": 8,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["first_name"] == "Ada"
