"""Dashboards: the school's, a section's, and a student's or guardian's own."""
