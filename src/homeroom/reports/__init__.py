"""Report cards and transcripts as PDF, one at a time or a zip of many as a job."""
