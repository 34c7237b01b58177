"""Student lists streamed as CSV and XLSX, and export jobs of students, grades, attendance and
enrollments."""
