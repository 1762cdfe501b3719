"""Engines drive one WhatsApp connection each behind the small interface of engines.base."""
