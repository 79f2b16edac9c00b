"""The agents, their registry, and the life of a query around them."""
