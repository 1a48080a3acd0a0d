"""Full-text search over the articles the mirror keeps (``mirror.search.index``)."""
