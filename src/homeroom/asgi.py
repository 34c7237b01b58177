"""The ASGI application for servers: `uvicorn homeroom.asgi:app`."""

from homeroom.app import create_app

app = create_app()
