"""easgw's pluggable edges: groupware stores and conference-link providers.

May import ``protocol``; never ``easgw``.
"""
