"""POST /batch: several GET requests in one round trip, each run in-process as the caller."""
