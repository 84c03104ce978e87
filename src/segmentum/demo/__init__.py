"""The demo workspace (layer 5): realistic synthetic customers, orders and events, with ground truth."""
