"""Listeners: parse the payload, call flows/storage, render. Acknowledge first, slow work after."""
