"""Built-in plugins: one hookimpl module per kind, registered by the harness itself."""
