"""In-memory repositories, one module per aggregate, over a MemoryState. They keep the
contract of the SQL ones (tests/adapters runs the same tests on both), including the
constraints the database enforces."""
