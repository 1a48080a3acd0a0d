"""The mirror's own addresses: alternates readers are shown, their checks, the signed
manifest that lists them, and the onion service."""
