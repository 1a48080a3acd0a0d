"""Getting bytes from origins: the address policy, the HTTP client, inflating and decoding.

Nothing here knows what an article is; it knows what an origin may do to us.
"""
