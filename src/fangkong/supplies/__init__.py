"""Supplies: items, warehouses, the stock ledger, enterprise output, requests and days of cover."""
