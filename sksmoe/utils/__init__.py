"""Small shared helpers: input validation and optional imports."""
