"""SQL repositories, one module per aggregate: explicit translation between rows and
domain objects (Core, no ORM). `base` holds what they share; the unit of work builds them."""
