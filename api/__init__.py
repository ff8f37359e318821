"""Placenet: an open JSON API for how funders work together in places."""
