"""Club Chat protocol: chain access, node, client and simulation."""
