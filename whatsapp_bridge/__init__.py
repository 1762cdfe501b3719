"""WhatsApp bridge: one linked WhatsApp session per organization behind an HTTP API."""
