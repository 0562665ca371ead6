"""Control of key persons: policies, control orders, daily checks, isolation sites and rooms."""
