"""The pages, one module per area; each module has a ``router`` using PageRoute."""
