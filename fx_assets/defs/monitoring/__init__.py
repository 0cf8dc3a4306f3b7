"""Monitoring: feature drift, realized performance, their WARN checks, alerts, retraining."""
