"""Ports: what the use-cases need from the outside world, as Protocols, by kind:
repositories (and the unit of work that holds them), queries (filters, pages and read
models), services (hashing, tokens, the clock). Adapters implement them; the container
plugs them in."""
