"""HTTP routers; each module has a ``router`` listed in :data:`waterops.api.app.ROUTER_MODULES`."""
