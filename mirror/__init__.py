"""mirror: a self-hosted reader proxy that keeps blocked journalism readable."""
