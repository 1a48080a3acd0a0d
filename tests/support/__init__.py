"""Helpers the tests share: servers, fixtures, browsers and paths."""
