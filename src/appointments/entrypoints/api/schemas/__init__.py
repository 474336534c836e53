"""Request and response models. Inputs forbid unknown fields, so nothing a client sends
is ever silently ignored or mass-assigned."""
