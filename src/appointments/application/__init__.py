"""Use-cases and the ports they need. Depends on the domain only."""
