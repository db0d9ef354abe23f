"""The HTTP API (aiohttp): one router that yields both the routes and the OpenAPI document."""
