"""Traffic monitoring (SOP 1): statistics over flow tables, and their history across runs."""
