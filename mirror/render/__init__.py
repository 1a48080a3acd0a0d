"""HTML and XML for readers: templates, interface languages and the views that fill them.

Used both by the web pages and by the files the mirror shares, so it sits below both.
"""
