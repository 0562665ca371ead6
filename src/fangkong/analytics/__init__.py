"""Situation analysis: epidemic curves, Rt, turning points and forecasts."""
