"""Services: access policy, chunk bus, queue, logging, embedded servers."""
