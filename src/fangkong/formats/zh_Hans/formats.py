"""Command-centre figures are read at a glance: group thousands (200,000), as Chinese official
statistics print them."""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
