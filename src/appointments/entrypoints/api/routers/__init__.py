"""One router per resource. Routers translate HTTP into use-case calls and back; they hold
no business rules and no authorization beyond "who are you"."""
