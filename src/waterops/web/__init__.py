"""Templates and static assets of the operations centre and the customer portal."""
