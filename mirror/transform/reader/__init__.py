"""Reader mode: the article found in a page, its metadata, and the rules that steer it."""
