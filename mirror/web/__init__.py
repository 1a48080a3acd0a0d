"""The HTTP side: the server, its routes and front door, responses, limits, TLS, metrics."""
