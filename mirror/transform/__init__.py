"""The pure middle: a page's text in, a clean article out (no I/O, no aiohttp).

Extraction and its helpers, ad and tracker stripping, sanitising and URL rules; ``page``
runs them in order as ``process_page``.
"""
