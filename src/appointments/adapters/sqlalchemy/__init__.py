"""SQLAlchemy Core adapters for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""
