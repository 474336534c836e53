"""Pure business rules: entities, value objects and booking policy. No I/O, no frameworks."""
