"""The HTTP API (layer 7, interface): routers that only wire the library, one error shape, keys and scopes."""
