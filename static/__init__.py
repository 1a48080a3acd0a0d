"""The stylesheet and icon, packaged as ``mirror.static`` so that an installed mirror finds
them through ``importlib.resources``; the files stay at the top of the project, beside it."""
