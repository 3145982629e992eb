"""Private torch modules and checkpoint helpers."""
