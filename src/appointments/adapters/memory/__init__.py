"""In-memory adapters with the same behaviour as the SQL ones, for fast use-case tests."""
