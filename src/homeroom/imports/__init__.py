"""CSV and XLSX imports: validated whole, written all-or-nothing, idempotent by natural keys."""
