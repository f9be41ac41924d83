"""Is the warehouse right? verify and gaps."""
