"""Job handlers of this package (registered with homeroom.jobs.registry.handler)."""
