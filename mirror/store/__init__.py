"""The cache: sealed entries (``cache``) on SQLite (``sqlite``) or Redis (``redis``)."""
