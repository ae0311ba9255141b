"""Pure detection functions: readings in, events out."""
