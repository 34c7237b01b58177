"""The web UI: server-rendered pages for every role (routes, views, templates)."""
