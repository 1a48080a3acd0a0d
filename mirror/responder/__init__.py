"""Answers by e-mail, for readers who can reach neither the mirror nor any of its addresses.

``mirror responder`` receives mail for one address and answers it with the signed list of
this mirror's addresses and, for each article of a configured site named in the mail, the
article as one self-contained HTML file: ``letters`` reads and writes the mail (no I/O),
``quota`` counts answers per sender under an HMAC, ``service`` is the SMTP server and the
relay client around the mirror's own pipeline.
"""
