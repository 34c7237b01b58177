"""`homeroom loadtest`: school-day journeys driven by locust (in a subprocess), SLA checks, reports.

locust monkey-patches the standard library with gevent, so it is never imported here: only
locustfile.py imports it, and only the locust subprocess loads that file.
"""
