"""FastAPI routers (thin: parse, call a service, return a Public model)."""
