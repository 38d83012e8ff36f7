"""Reports: HTML (and PDF) rendering of executed notebooks, and their wording in two languages."""
